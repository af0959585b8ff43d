"""The first of the month: every project's billing cycle opens its period and invites at once.

    uv run python -m benchmarks.first_of_month [--projects P] [--commitments K] [--rounds R]
                                               [--database-url URL]

**Paydraw.** P projects with K approved commitments each (one invoice contact per commitment) are
written through the services (set-up, not timed), each with its monthly billing cycle on. Then
the P monthly-cycle workflows start at once, as the projects' Temporal Schedules start them on
the first of the month (``MonthlyBillingCycleWorkflow``: plan, open the period, start the
period's workflow, which invites every eligible commitment). The clock runs from the first start
until a real SMTP server in this process has answered 250 to all P x K invite emails. Paydraw
runs as deployed: its worker (``python -m paydraw.worker``) and its API (uvicorn) each in its own
process; the database is a fresh SQLite file (WAL) per round, or ``--database-url``.

**Bare Temporal.** P parent workflows started at once, each starting K child workflows that run
one activity that does nothing: the same shape with none of Paydraw's work. The clock runs until
the server closed the last child. Its worker runs in its own process, with the Paydraw worker's
slots and cache size.

**Printed.** Invites per second on each side and their ratio (target: Paydraw at least 0.75 of
bare), the CPU time per invite of each process, and the longest workflow history (in events)
either side's run produced (target: none above 10,000). Rounds alternate, bare then Paydraw,
each with its own task queues, processes, SMTP server and database; the verdict is on the medians.
"""

import argparse
import asyncio
import functools
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client

from benchmarks.bare import FanOutWorkflow
from benchmarks.measure import (
    CountingSmtpServer,
    DevServer,
    dev_server,
    machine_facts,
    paydraw_worker_slots,
    until,
)
from benchmarks.processes import Cpu, bare_worker, paydraw_processes, temporal_address, watched
from paydraw import actors
from paydraw.commitments.schemas import CommitmentCreate, ContactIn, SovLineIn
from paydraw.commitments.service import approve_sov, create_commitment
from paydraw.db.engine import make_engine, session_scope
from paydraw.db.migrate import upgrade
from paydraw.db.tables import Project
from paydraw.projects.schemas import ProjectCreate
from paydraw.projects.service import create_project
from paydraw.settings import Settings
from paydraw.users.service import ensure_user
from workflows.messages import MonthlyCycleInput
from workflows.monthly_cycle import MonthlyBillingCycleWorkflow

TARGET_RATIO = 0.75
MAX_HISTORY_EVENTS = 10_000
CPU_ROWS = (
    ("client (benchmark process)", "client"),
    ("API + worker processes", "processes"),
    ("  worker process", "worker"),
    ("Temporal server", "server"),
)


@dataclass
class Side:
    invites_per_second: float = 0.0
    cpu: Cpu = field(default_factory=Cpu)
    longest_history: int = 0


async def longest_history(client: Client, task_queue: str) -> int:
    """The most events any workflow on ``task_queue`` has in its history."""
    query = f"TaskQueue = '{task_queue}'"
    return max([execution.history_length async for execution in client.list_workflows(query)])


async def timed(
    count: int, start_all: Callable[[], Awaitable[None]], done: Callable[[], Awaitable[bool]]
) -> float:
    """Start, then wait until ``done``; the seconds from the start."""
    started = time.perf_counter()
    await start_all()
    await until(done, f"{count} invites")
    return time.perf_counter() - started


# -- bare Temporal -------------------------------------------------------------------------------


async def bare_side(
    server: DevServer, projects: int, commitments: int, slots: dict[str, Any], log_dir: Path
) -> Side:
    client = server.client
    task_queue = f"bare-month-{uuid.uuid4().hex}"
    count = projects * commitments
    completed = (
        f"TaskQueue = '{task_queue}' AND WorkflowType = 'OneActivityWorkflow' "
        "AND ExecutionStatus = 'Completed'"
    )

    async def start_all() -> None:
        await asyncio.gather(
            *(
                client.start_workflow(
                    FanOutWorkflow.run,
                    [f"{task_queue}-{p}-{k}" for k in range(commitments)],
                    id=f"{task_queue}-parent-{p}",
                    task_queue=task_queue,
                )
                for p in range(projects)
            )
        )

    async def all_completed() -> bool:
        return (await client.count_workflows(completed)).count == count

    async with bare_worker(client, task_queue, slots, log_dir, "bare-month-worker") as worker:
        cpu_used = functools.partial(Cpu.now, server.pid, worker)
        started, before = datetime.now(UTC), cpu_used()
        await watched([worker], start_all())
        await watched([worker], until(all_completed, f"{count} bare workflows"))
        cpu = cpu_used() - before
        closed = [execution.close_time async for execution in client.list_workflows(completed)]
    last = max(moment for moment in closed if moment is not None)
    history = await longest_history(client, task_queue)
    return Side(count / (last - started).total_seconds(), cpu, history)


# -- Paydraw -------------------------------------------------------------------------------------


def seed(engine: Engine, projects: int, commitments: int) -> list[str]:
    """P projects with K approved commitments each and the monthly cycle on, through the
    services; their ids."""
    project_ids = []
    with session_scope(engine) as session:
        user = ensure_user(session, "ap@benchmark.example")
        actor = actors.user(user.id, user.email)
    for p in range(projects):
        with session_scope(engine) as session:
            project = create_project(
                session,
                actor,
                ProjectCreate(name=f"Benchmark Tower {p}", general_contractor="Bench GC"),
            )
            row = session.get(Project, project.id)
            assert row is not None
            row.billing_cycle_enabled = True
            for n in range(commitments):
                commitment = create_commitment(
                    session,
                    actor,
                    project.id,
                    CommitmentCreate(
                        number=f"SC-{n:05d}",
                        vendor_name=f"Vendor {p}-{n}",
                        contacts=[ContactIn(name=f"Clerk {n}", email=f"billing-{p}-{n}@v.example")],
                        sov_lines=[SovLineIn(code="01", scheduled_value=Decimal("60000.00"))],
                    ),
                )
                approve_sov(session, actor, commitment.id)
            project_ids.append(project.id)
    return project_ids


async def paydraw_side(
    server: DevServer,
    projects: int,
    commitments: int,
    database_url: str,
    data_dir: Path,
) -> Side:
    client = server.client
    count = projects * commitments
    upgrade(database_url)
    engine = make_engine(database_url)
    project_ids = seed(engine, projects, commitments)
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
        temporal_task_queue=f"paydraw-month-{uuid.uuid4().hex}",
    )

    async def start_all() -> None:
        await asyncio.gather(
            *(
                client.start_workflow(
                    MonthlyBillingCycleWorkflow.run,
                    MonthlyCycleInput(project_id=project_id),
                    id=f"billing-cycle-run:{project_id}",
                    task_queue=settings.temporal_task_queue,
                )
                for project_id in project_ids
            )
        )

    async def all_accepted() -> bool:
        return len(smtp.accepted_at) >= count

    try:
        async with paydraw_processes(client, settings) as deployed:
            cpu_used = functools.partial(Cpu.now, server.pid, deployed.worker, deployed.api)
            before = cpu_used()
            elapsed = await watched(deployed.children, timed(count, start_all, all_accepted))
            cpu = cpu_used() - before
            await asyncio.sleep(1)  # any duplicate would arrive now
            assert len(smtp.accepted_at) == count, f"{len(smtp.accepted_at)} emails for {count}"
        history = await longest_history(client, settings.temporal_task_queue)
    finally:
        smtp.controller.stop()
        engine.dispose()
    return Side(count / elapsed, cpu, history)


# -- the run -------------------------------------------------------------------------------------


def report(
    projects: int, commitments: int, rounds: list[tuple[Side, Side]], facts: list[str]
) -> bool:
    count = projects * commitments
    bare = statistics.median(b.invites_per_second for b, _ in rounds)
    paydraw = statistics.median(p.invites_per_second for _, p in rounds)
    ratio = paydraw / bare
    history = max(max(b.longest_history, p.longest_history) for b, p in rounds)
    shape = f"{projects} projects x {commitments} commitments"
    print(f"\nFirst of the month, {shape} = {count} invites")
    print(f"{'':<10}{'bare workflows/s':>18}{'Paydraw invites/s':>19}{'ratio':>7}")
    for number, (b, p) in enumerate(rounds, start=1):
        row = f"{b.invites_per_second:>18.1f}{p.invites_per_second:>19.1f}"
        print(f"{f'round {number}':<10}{row}{p.invites_per_second / b.invites_per_second:>7.2f}")
    print(f"{'median':<10}{bare:>18.1f}{paydraw:>19.1f}{ratio:>7.2f}")

    print(f"\nCPU ms per invite (median of rounds){'bare':>6}{'Paydraw':>9}")
    for label, process in CPU_ROWS:
        b_ms = statistics.median(getattr(b.cpu, process) * 1000 / count for b, _ in rounds)
        p_ms = statistics.median(getattr(p.cpu, process) * 1000 / count for _, p in rounds)
        print(f"{label:<36}{b_ms:>6.1f}{p_ms:>9.1f}")
    longest = [f"bare {b.longest_history}, Paydraw {p.longest_history}" for b, p in rounds]
    print(f"\nlongest workflow history (events), per round: {'; '.join(longest)}")

    rate_ok, history_ok = ratio >= TARGET_RATIO, history <= MAX_HISTORY_EVENTS
    verdict = "PASS" if rate_ok else "FAIL"
    print(f"\nPaydraw/bare = {ratio:.2f}, target >= {TARGET_RATIO}: {verdict}")
    print(
        f"longest history {history} events, target <= {MAX_HISTORY_EVENTS}: "
        f"{'PASS' if history_ok else 'FAIL'}"
    )
    print("\n" + "\n".join(facts))
    return rate_ok and history_ok


async def main(projects: int, commitments: int, rounds: int, database_url: str | None) -> bool:
    facts = machine_facts(database_url or "sqlite")
    results = []
    async with dev_server() as server:
        slots = await paydraw_worker_slots(server.client)
        for number in range(rounds):
            round_dir = server.workdir / f"round-{number}"
            round_dir.mkdir(parents=True)
            url = database_url or f"sqlite:///{round_dir / 'paydraw.db'}"
            bare = await bare_side(server, projects, commitments, slots, round_dir)
            paydraw = await paydraw_side(server, projects, commitments, url, round_dir)
            print(
                f"round {number + 1}: bare {bare.invites_per_second:.1f}/s, "
                f"Paydraw {paydraw.invites_per_second:.1f}/s",
                flush=True,
            )
            results.append((bare, paydraw))
    return report(projects, commitments, results, facts)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.first_of_month", description=__doc__
    )
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--commitments", type=int, default=50, help="per project")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_arguments()
    passed = asyncio.run(
        main(arguments.projects, arguments.commitments, arguments.rounds, arguments.database_url)
    )
    sys.exit(0 if passed else 1)
