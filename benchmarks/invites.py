"""Invite throughput: Paydraw's invite to bill against bare Temporal, on one Temporal dev server.

    uv run python -m benchmarks.invites [--commitments N] [--rounds R] [--database-url URL]

**Paydraw.** A project with N approved commitments, one invoice contact each, is written through
the services (set-up, not measured) and a billing period is opened through the HTTP API. Then one
HTTP request invites all N, and the clock runs from that request until a real SMTP server in this
process has answered 250 to all N invite emails. The API (ASGI, no sockets) and the worker of
``paydraw.worker.build_worker`` run in this process too. The database is a fresh SQLite file (WAL)
per round, or the PostgreSQL database of ``--database-url``.

**Bare Temporal.** N workflows that each run one activity that does nothing, all started at once
from the client; the clock runs until the server closed the last of them (the server's own close
time, so polling for the end adds nothing). Its worker gets the Paydraw worker's activity and
workflow task slots and cache size.

**Run order.** Rounds alternate, bare then Paydraw, and the medians are compared. On a shared
machine other processes come and go: alternating puts both sides through the same weather, and the
median drops a round that caught a storm. Every round has its own task queues, workers, SMTP server
and database, so no round inherits another's cache, backlog or tables.

**Bytecode.** The workflow sandbox imports a workflow's module afresh for every workflow it starts.
Where no bytecode may be written (``PYTHONDONTWRITEBYTECODE``), that means compiling the module from
source each time, a cost no deployment should pay; so this run caches bytecode in its own temporary
folder (``sys.pycache_prefix``), which leaves the source tree untouched.
"""

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from benchmarks.bare import OneActivityWorkflow, do_nothing
from emails.mailbox import FreePortController
from paydraw.actors import Actor
from paydraw.commitments.schemas import CommitmentCreate, ContactIn, SovLineIn
from paydraw.commitments.service import approve_sov, create_commitment
from paydraw.db.engine import make_engine, session_scope
from paydraw.db.migrate import upgrade
from paydraw.db.tables import EmailOutbox
from paydraw.projects.schemas import ProjectCreate
from paydraw.projects.service import create_project
from paydraw.settings import Settings
from paydraw.users.service import ensure_user, issue_key
from paydraw.worker import build_worker

TARGET_RATIO = 0.75
TEMPORAL = Path(sysconfig.get_path("scripts")) / "temporal"
ACTIVITY_THREADS = 32  # what paydraw.worker.run gives its worker
GIVE_UP_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Round:
    workflows_per_second: float
    invites_per_second: float
    worker_slots: dict[str, Any]

    @property
    def ratio(self) -> float:
        return self.invites_per_second / self.workflows_per_second


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


async def bare_workflows_per_second(client: Client, count: int, slots: dict[str, Any]) -> float:
    task_queue = f"bare-{uuid.uuid4().hex}"
    completed = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Completed'"

    async def all_completed() -> bool:
        return (await client.count_workflows(completed)).count == count

    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[OneActivityWorkflow],
        activities=[do_nothing],
        **slots,
    ):
        started = datetime.now(UTC)
        await asyncio.gather(
            *(
                client.start_workflow(
                    OneActivityWorkflow.run, id=f"{task_queue}-{n}", task_queue=task_queue
                )
                for n in range(count)
            )
        )
        await until(all_completed, f"{count} bare workflows")
        closed = [execution.close_time async for execution in client.list_workflows(completed)]
    last = max(moment for moment in closed if moment is not None)
    return count / (last - started).total_seconds()


# -- Paydraw -------------------------------------------------------------------------------------


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
    count = len(seeded.commitment_ids)
    app = create_app(settings, engine, temporal=client)
    api = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
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

        # Not measured: each send is also recorded, and no invite went out twice.
        assert len(invited.json()["invited"]) == count, invited.text
        await until(all_recorded, f"{count} invites recorded as sent")
        assert len(smtp.accepted_at) == count, f"{len(smtp.accepted_at)} emails for {count}"
    return count / elapsed


# -- rounds and the report -----------------------------------------------------------------------


async def one_round(client: Client, count: int, database_url: str, data_dir: Path) -> Round:
    """Bare Temporal, then Paydraw, each with a fresh task queue and worker."""
    upgrade(database_url)
    engine = make_engine(database_url)
    smtp = CountingSmtpServer()
    smtp.controller.start()
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="benchmark",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        public_url="http://paydraw.benchmark",
        temporal_task_queue=f"paydraw-{uuid.uuid4().hex}",
    )
    try:
        seeded = seed(engine, count)
        with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
            worker = build_worker(client, settings, engine, executor)
            slots = slots_of(worker)
            bare = await bare_workflows_per_second(client, count, slots)
            paydraw = await paydraw_invites_per_second(
                client, settings, engine, worker, smtp, seeded
            )
    finally:
        smtp.controller.stop()
        engine.dispose()
    return Round(workflows_per_second=bare, invites_per_second=paydraw, worker_slots=slots)


def machine_facts(database_url: str) -> list[str]:
    temporal = subprocess.run([TEMPORAL, "--version"], capture_output=True, text=True, check=False)
    database = (
        f"SQLite {sqlite3.sqlite_version} (WAL, fresh file per round)"
        if database_url.startswith("sqlite")
        else database_url.split("://", 1)[0].split("+", 1)[0]
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"date      {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"machine   {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}",
        f"load      {load} (1, 5, 15 min averages at the start)",
        f"python    {platform.python_implementation()} {platform.python_version()}",
        f"temporal  {temporal.stdout.strip()} (dev server, in-memory)",
        f"database  {database}",
    ]


def report(count: int, rounds: list[Round], facts: list[str]) -> bool:
    bare = statistics.median(each.workflows_per_second for each in rounds)
    paydraw = statistics.median(each.invites_per_second for each in rounds)
    ratio = paydraw / bare
    passed = ratio >= TARGET_RATIO
    print(f"\nInvite throughput, N = {count}, {len(rounds)} rounds (bare, then Paydraw, each)")
    print(f"{'round':>6} {'bare workflows/s':>17} {'Paydraw invites/s':>18} {'ratio':>6}")
    for number, each in enumerate(rounds, start=1):
        print(
            f"{number:>6} {each.workflows_per_second:>17.1f} "
            f"{each.invites_per_second:>18.1f} {each.ratio:>6.2f}"
        )
    print(f"{'median':>6} {bare:>17.1f} {paydraw:>18.1f} {ratio:>6.2f}")
    verdict = "PASS" if passed else "FAIL"
    print(f"\nPaydraw/bare = {ratio:.2f}, target >= {TARGET_RATIO:.2f}: {verdict}\n")
    slots = ", ".join(f"{name} {value}" for name, value in rounds[0].worker_slots.items())
    print("\n".join([*facts, f"workers   {slots} (None: the SDK's default), on both sides"]))
    return passed


async def main(count: int, rounds: int, database_url: str | None) -> bool:
    results = []
    with tempfile.TemporaryDirectory(prefix="paydraw-bench-") as workdir:
        sys.pycache_prefix = str(Path(workdir) / "pycache")
        sys.dont_write_bytecode = False
        facts = machine_facts(database_url or "sqlite")
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(TEMPORAL),
            data_converter=pydantic_data_converter,
            dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
            dev_server_log_level="error",
            ui=False,
        )
        try:
            for number in range(1, rounds + 1):
                data_dir = Path(workdir) / f"round-{number}"
                url = database_url or f"sqlite:///{data_dir / 'paydraw.db'}"
                results.append(await one_round(env.client, count, url, data_dir))
                latest = results[-1]
                print(
                    f"round {number}: bare {latest.workflows_per_second:.1f} workflows/s, "
                    f"Paydraw {latest.invites_per_second:.1f} invites/s",
                    flush=True,
                )
        finally:
            await env.shutdown()
    return report(count, results, facts)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.invites",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--commitments", type=int, default=1000, metavar="N")
    parser.add_argument("--rounds", type=int, default=3, metavar="R")
    parser.add_argument("--database-url", help="PostgreSQL instead of a fresh SQLite file")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_arguments()
    passed = asyncio.run(main(arguments.commitments, arguments.rounds, arguments.database_url))
    sys.exit(0 if passed else 1)
