"""The timed runs of the lifecycle benchmark: N commitments from invite to paid, a bounded number at
a time, through Paydraw's HTTP API or as bare Temporal updates, every action timed on its own."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from benchmarks.bare import LIFECYCLE_STEPS, LifecycleWorkflow, do_nothing
from benchmarks.measure import PaydrawRound, api_client, cpu_seconds, open_period
from paydraw.contacts.tokens import ContactClaim, issue

# What the contact bills: 40% of the contract, spread over its lines.
BILLED = {"entry": {"mode": "contract_percent", "percent": "40"}}


@dataclass
class Timings:
    """Seconds per action, by step name; the wall-clock time of all the lifecycles, and the CPU
    time they took in this process (client, API, worker, SMTP server) and in the Temporal server."""

    steps: dict[str, list[float]] = field(
        default_factory=lambda: {step: [] for step in LIFECYCLE_STEPS}
    )
    invite_emails: list[float] = field(default_factory=list)  # Paydraw: invite POST to its 250
    elapsed: float = 0.0
    cpu: float = 0.0
    server_cpu: float = 0.0

    @property
    def actions(self) -> list[float]:
        return [seconds for samples in self.steps.values() for seconds in samples]

    async def timed(self, step: str, action: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        result = await action
        self.steps[step].append(time.perf_counter() - started)
        return result


async def run_all(
    count: int, concurrency: int, lifecycle: Callable[[int], Awaitable[None]], timings: Timings
) -> None:
    """``count`` lifecycles, at most ``concurrency`` at a time, on the wall clock."""
    limit = asyncio.Semaphore(concurrency)

    async def bounded(n: int) -> None:
        async with limit:
            await lifecycle(n)

    started, (cpu, server_cpu) = time.perf_counter(), cpu_seconds()
    await asyncio.gather(*(bounded(n) for n in range(count)))
    timings.elapsed = time.perf_counter() - started
    cpu_after, server_cpu_after = cpu_seconds()
    timings.cpu, timings.server_cpu = cpu_after - cpu, server_cpu_after - server_cpu


# -- bare Temporal -------------------------------------------------------------------------------


async def bare_lifecycles(
    client: Client, count: int, concurrency: int, slots: dict[str, Any]
) -> Timings:
    """One LifecycleWorkflow per commitment: the invite starts it (update with start), then one
    update per step, each awaited before the next, as a person acts after seeing the last answer."""
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

    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[LifecycleWorkflow],
        activities=[do_nothing],
        **slots,
    ):
        await run_all(count, concurrency, lifecycle, timings)
    return timings


# -- Paydraw -------------------------------------------------------------------------------------


def with_key(headers: dict[str, str]) -> dict[str, str]:
    """A client that retries safely sends an Idempotency-Key with every POST."""
    return {**headers, "Idempotency-Key": str(uuid.uuid4())}


async def answered(request: Awaitable[httpx.Response]) -> Any:
    response = await request
    if response.status_code not in (200, 201):
        raise AssertionError(f"{response.request.url.path}: {response.status_code} {response.text}")
    return response.json()


async def paydraw_lifecycles(client: Client, paydraw: PaydrawRound, concurrency: int) -> Timings:
    """Every commitment through the HTTP API: the admin invites it; its contact, with the link's
    token, accepts once the invite email has arrived, fills in and submits the pay app; the
    reviewer approves it; the admin finalizes it and pays what it certifies."""
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

    async with api_client(client, paydraw) as api, paydraw.worker:
        period_id = await open_period(api, seeded.project_id)
        await run_all(len(seeded.commitment_ids), concurrency, lifecycle, timings)
    return timings
