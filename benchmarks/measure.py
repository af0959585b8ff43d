"""The timed runs of the invite benchmark: bare Temporal (client starts or one parent's fan-out),
and Paydraw's invite to bill from the HTTP request to the SMTP server's 250."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from benchmarks.bare import FanOutWorkflow, OneActivityWorkflow, do_nothing
from emails.mailbox import FreePortController
from paydraw.actors import Actor
from paydraw.commitments.schemas import CommitmentCreate, ContactIn, SovLineIn
from paydraw.commitments.service import approve_sov, create_commitment
from paydraw.db.engine import session_scope
from paydraw.db.tables import EmailOutbox
from paydraw.projects.schemas import ProjectCreate
from paydraw.projects.service import create_project
from paydraw.settings import Settings
from paydraw.users.service import ensure_user, issue_key

GIVE_UP_AFTER = timedelta(minutes=15)


async def until(done: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + GIVE_UP_AFTER.total_seconds()
    while not await done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


# -- bare Temporal -------------------------------------------------------------------------------


def slots_of(worker: Worker) -> dict[str, Any]:
    """The slots and cache size a worker was built with, for another worker to match."""
    config = worker.config()
    return {
        "max_concurrent_activities": config["max_concurrent_activities"],
        "max_concurrent_workflow_tasks": config["max_concurrent_workflow_tasks"],
        "max_cached_workflows": config["max_cached_workflows"],
    }


async def bare_workflows_per_second(
    client: Client, count: int, slots: dict[str, Any], *, fan_out: bool = False
) -> float:
    """``count`` one-activity workflows, started all at once by the client, or as the children of
    one parent with ``fan_out``; timed until the server closed the last of them."""
    task_queue = f"bare-{uuid.uuid4().hex}"
    ids = [f"{task_queue}-{n}" for n in range(count)]
    completed = (
        f"TaskQueue = '{task_queue}' AND WorkflowType = 'OneActivityWorkflow' "
        "AND ExecutionStatus = 'Completed'"
    )

    async def all_completed() -> bool:
        return (await client.count_workflows(completed)).count == count

    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[OneActivityWorkflow, FanOutWorkflow],
        activities=[do_nothing],
        **slots,
    ):
        started = datetime.now(UTC)
        if fan_out:
            await client.start_workflow(
                FanOutWorkflow.run, ids, id=f"{task_queue}-parent", task_queue=task_queue
            )
        else:
            await asyncio.gather(
                *(
                    client.start_workflow(
                        OneActivityWorkflow.run, id=workflow_id, task_queue=task_queue
                    )
                    for workflow_id in ids
                )
            )
        await until(all_completed, f"{count} bare workflows")
        closed = [execution.close_time async for execution in client.list_workflows(completed)]
    last = max(moment for moment in closed if moment is not None)
    return count / (last - started).total_seconds()


# -- Paydraw -------------------------------------------------------------------------------------


class CountingSmtpServer:
    """A real SMTP server (aiosmtpd, on its own thread) that notes when it accepted each message."""

    def __init__(self) -> None:
        # Appended to by the server's thread only; the benchmark just reads it.
        self.accepted_at: list[float] = []
        self.controller = FreePortController(self, hostname="127.0.0.1", port=0)

    @property
    def port(self) -> int:
        port: int = self.controller.port
        return port

    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Envelope) -> str:
        self.accepted_at.append(time.perf_counter())
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class Seeded:
    headers: dict[str, str]
    project_id: str
    commitment_ids: list[str]


def seed(engine: Engine, commitments: int) -> Seeded:
    """A staff user's API key and a project with approved commitments, through the services:
    what the HTTP API would write, without a round trip per commitment."""
    with session_scope(engine) as session:
        user = ensure_user(session, "ap@benchmark.example")
        key = issue_key(session, user)
        actor = Actor("user", user.id, user.email)
        project = create_project(
            session, actor, ProjectCreate(name="Benchmark Tower", general_contractor="Bench GC")
        )
        commitment_ids = []
        for n in range(commitments):
            commitment = create_commitment(
                session,
                actor,
                project.id,
                CommitmentCreate(
                    number=f"SC-{n:05d}",
                    vendor_name=f"Vendor {n}",
                    contacts=[ContactIn(name=f"Clerk {n}", email=f"billing@vendor-{n}.example")],
                    sov_lines=[SovLineIn(code="01", scheduled_value=Decimal("60000.00"))],
                ),
            )
            approve_sov(session, actor, commitment.id)
            commitment_ids.append(commitment.id)
    return Seeded({"Authorization": f"Bearer {key}"}, project.id, commitment_ids)


def invites_sent(engine: Engine, period_id: str) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(
            col(EmailOutbox.period_id) == period_id,
            col(EmailOutbox.kind) == "invite",
            col(EmailOutbox.status) == "sent",
        )
        return session.exec(query).one()


async def paydraw_invites_per_second(
    client: Client,
    settings: Settings,
    engine: Engine,
    worker: Worker,
    smtp: CountingSmtpServer,
    seeded: Seeded,
) -> float:
    """Open a period, then time one invite of every commitment until the last 250."""
    count = len(seeded.commitment_ids)
    api = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, engine, temporal=client)),
        base_url=settings.resolved_public_url,
        headers=seeded.headers,
        timeout=None,
    )

    async def all_accepted() -> bool:
        return len(smtp.accepted_at) >= count

    async def all_recorded() -> bool:
        return invites_sent(engine, period_id) == count

    async with api, worker:
        today = date.today()
        opened = await api.post(
            f"/api/v1/projects/{seeded.project_id}/billing-periods",
            json={
                "start_date": today.isoformat(),
                "end_date": (today + timedelta(days=30)).isoformat(),
                "due_date": (today + timedelta(days=14)).isoformat(),
            },
        )
        opened.raise_for_status()
        period_id = opened.json()["id"]

        started = time.perf_counter()
        invited = await api.post(
            f"/api/v1/billing-periods/{period_id}/invites",
            json={"commitment_ids": seeded.commitment_ids},
        )
        invited.raise_for_status()
        await until(all_accepted, f"{count} invite emails")
        elapsed = smtp.accepted_at[count - 1] - started

        # Not timed: every send is also recorded, and no invite went out twice.
        assert len(invited.json()["invited"]) == count, invited.text
        await until(all_recorded, f"{count} invites recorded as sent")
        assert len(smtp.accepted_at) == count, f"{len(smtp.accepted_at)} emails for {count}"
    return count / elapsed
