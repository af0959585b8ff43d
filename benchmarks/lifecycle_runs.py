"""The timed runs of the lifecycle benchmark: N commitments from invite to paid, a bounded number at
a time, through Paydraw's HTTP API or as bare Temporal updates, every action timed on its own.
Each side's worker (and Paydraw's API) runs in its own process for the run."""

import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from benchmarks.bare import LIFECYCLE_STEPS, LifecycleWorkflow
from benchmarks.measure import (
    Answer,
    DevServer,
    PaydrawRound,
    api_client,
    open_period,
    until,
)
from benchmarks.processes import Cpu, bare_worker, paydraw_processes, watched
from paydraw.db.tables import CertificatePdf
from paydraw.invitations.tokens import ContactClaim, issue

# What the contact bills: 40% of the contract, spread over its lines.
BILLED = {"entry": {"mode": "contract_percent", "percent": "40"}}


@dataclass
class Timings:
    """Seconds per action, by step name; the wall-clock time of all the lifecycles, and the CPU
    time they took in each process: this one (client, SMTP server), the side's API and worker, the
    Temporal server."""

    steps: dict[str, list[float]] = field(
        default_factory=lambda: {step: [] for step in LIFECYCLE_STEPS}
    )
    invite_emails: list[float] = field(default_factory=list)  # Paydraw: invite POST to its 250
    elapsed: float = 0.0
    cpu: Cpu = field(default_factory=Cpu)
    # Paydraw: from the last lifecycle's end until every finalized certificate's PDF was kept (the
    # printer works when the billing steps leave the CPU free), and the CPU used until then.
    printed_after: float = 0.0
    cpu_until_printed: Cpu = field(default_factory=Cpu)

    @property
    def actions(self) -> list[float]:
        return [seconds for samples in self.steps.values() for seconds in samples]

    async def timed(self, step: str, action: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        result = await action
        self.steps[step].append(time.perf_counter() - started)
        return result


async def run_all(
    count: int,
    concurrency: int,
    lifecycle: Callable[[int], Awaitable[None]],
    timings: Timings,
    cpu_used: Callable[[], Cpu],
) -> None:
    """``count`` lifecycles, at most ``concurrency`` at a time, on the wall clock and by the CPU
    the processes of ``cpu_used`` spent on them."""
    limit = asyncio.Semaphore(concurrency)

    async def bounded(n: int) -> None:
        async with limit:
            await lifecycle(n)

    started, before = time.perf_counter(), cpu_used()
    await asyncio.gather(*(bounded(n) for n in range(count)))
    timings.elapsed = time.perf_counter() - started
    timings.cpu = cpu_used() - before


# -- bare Temporal -------------------------------------------------------------------------------


async def bare_lifecycles(
    server: DevServer, count: int, concurrency: int, slots: dict[str, Any], log_dir: Path
) -> Timings:
    """One LifecycleWorkflow per commitment: the invite starts it (update with start), then one
    update per step, each awaited before the next, as a person acts after seeing the last answer.
    The worker runs in its own process, with ``slots``."""
    client = server.client
    task_queue = f"bare-lifecycle-{uuid.uuid4().hex}"
    timings = Timings()

    async def lifecycle(n: int) -> None:
        workflow_id = f"{task_queue}-{n}"
        start = WithStartWorkflowOperation(
            LifecycleWorkflow.run,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        invite = client.execute_update_with_start_workflow(
            LifecycleWorkflow.step, "invite", start_workflow_operation=start
        )
        await timings.timed("invite", invite)
        handle = await start.workflow_handle()
        for step in LIFECYCLE_STEPS[1:]:
            await timings.timed(step, handle.execute_update(LifecycleWorkflow.step, step))
        assert await handle.result() == list(LIFECYCLE_STEPS)

    async with bare_worker(client, task_queue, slots, log_dir, "bare-lifecycle-worker") as worker:
        cpu_used = functools.partial(Cpu.now, server.pid, worker)
        await watched([worker], run_all(count, concurrency, lifecycle, timings, cpu_used))
    return timings


# -- Paydraw -------------------------------------------------------------------------------------


def with_key(headers: dict[str, str]) -> dict[str, str]:
    """A client that retries safely sends an Idempotency-Key with every POST."""
    return {**headers, "Idempotency-Key": str(uuid.uuid4())}


async def answered(request: Awaitable[Answer]) -> Any:
    response = await request
    if response.status_code not in (200, 201):
        raise AssertionError(f"{response.path}: {response.status_code} {response.text}")
    return response.json()


async def paydraw_lifecycles(server: DevServer, paydraw: PaydrawRound, concurrency: int) -> Timings:
    """Every commitment through the HTTP API: the admin invites it; its contact, with the link's
    token, accepts once the invite email has arrived, fills in and submits the pay app; the
    reviewer approves it; the admin finalizes it and pays what it certifies. The worker and the
    API run in their own processes."""
    seeded, settings = paydraw.seeded, paydraw.settings
    admin, reviewer = seeded.headers, seeded.reviewer_headers
    timings = Timings()

    async def lifecycle(n: int) -> None:
        commitment_id, address = seeded.commitment_ids[n], seeded.contacts[n]
        token = issue(settings, ContactClaim(commitment_id, period_id, address))
        contact = {"Authorization": f"Bearer {token}"}

        arrived = paydraw.smtp.expect(address)
        started = time.perf_counter()
        invites = f"/api/v1/billing-periods/{period_id}/invites"
        body = {"commitment_ids": [commitment_id]}
        invited = await timings.timed(
            "invite", answered(api.post(invites, json=body, headers=with_key(admin)))
        )
        assert invited["invited"] == [commitment_id], invited
        await arrived.wait()
        timings.invite_emails.append(time.perf_counter() - started)

        accept = api.post("/api/v1/contact/invitation/accept", headers=with_key(contact))
        await timings.timed("accept", answered(accept))
        fill = api.put("/api/v1/contact/pay-app/lines", json=BILLED, headers=contact)
        draft = await timings.timed("create", answered(fill))
        submit = api.post("/api/v1/contact/pay-app/submit", headers=with_key(contact))
        await timings.timed("submit", answered(submit))
        pay_app = f"/api/v1/pay-apps/{draft['id']}"
        review = api.post(
            f"{pay_app}/review", json={"decision": "approve"}, headers=with_key(reviewer)
        )
        await timings.timed("approve", answered(review))
        finalize = api.post(f"{pay_app}/finalize", headers=with_key(admin))
        final = await timings.timed("finalize", answered(finalize))
        payment = {
            "amount": final["summary"]["current_payment_due"],
            "method": "ach",
            "reference": f"ACH-{n}",
            "paid_on": date.today().isoformat(),
        }
        pay = api.post(f"{pay_app}/payments", json=payment, headers=with_key(admin))
        paid = await timings.timed("pay", answered(pay))
        assert paid["payment_status"] == "paid", paid

    async with (
        paydraw_processes(server.client, settings) as deployed,
        api_client(deployed.url, paydraw) as api,
    ):
        period_id = await watched(deployed.children, open_period(api, seeded.project_id))
        cpu_used = functools.partial(Cpu.now, server.pid, deployed.worker, deployed.api)
        count = len(seeded.commitment_ids)
        await watched(deployed.children, run_all(count, concurrency, lifecycle, timings, cpu_used))
        before, ended = cpu_used() - timings.cpu, time.perf_counter()

        async def all_printed() -> bool:
            return await asyncio.to_thread(certificates_kept, paydraw) == count

        await watched(deployed.children, until(all_printed, "every certificate kept"))
        timings.printed_after = time.perf_counter() - ended
        timings.cpu_until_printed = cpu_used() - before
    return timings


def certificates_kept(paydraw: PaydrawRound) -> int:
    """How many finalized pay apps have their G702/G703 printed and kept."""
    with paydraw.engine.connect() as connection:
        kept = (
            select(func.count())
            .select_from(CertificatePdf)
            .where(col(CertificatePdf.pdf).is_not(None))
        )
        return int(connection.execute(kept).scalar_one())
