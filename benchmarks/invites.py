"""Invite throughput: Paydraw's invite to bill against bare Temporal, on one Temporal dev server.

    uv run python -m benchmarks.invites [--commitments N] [--rounds R] [--database-url URL]
                                        [--fan-out]

**Paydraw.** A project with N approved commitments, one invoice contact each, is written through
the services (set-up, not timed) and a billing period is opened through the HTTP API. Then one
HTTP request invites all N, and the clock runs from that request until a real SMTP server in this
process has answered 250 to all N invite emails. The API (ASGI, no sockets) and the worker of
``paydraw.worker.build_worker`` run in this process too. The database is a fresh SQLite file (WAL)
per round, or the PostgreSQL database of ``--database-url``.

**Bare Temporal.** N workflows that each run one activity that does nothing, all started at once
by the client; the clock runs until the server closed the last of them (the server's own close
time, so polling for the end adds nothing). Its worker gets the Paydraw worker's activity and
workflow task slots and cache size. The target compares Paydraw with this: at least 0.75 of its
rate. ``--fan-out`` also times the same N workflows started as children of one parent workflow,
as a billing period starts its commitments' workflows: Temporal's own cost of that shape, so the
gap can be split between the shape and Paydraw's work (database, email).

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
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from benchmarks.measure import (
    CountingSmtpServer,
    bare_workflows_per_second,
    paydraw_invites_per_second,
    seed,
    slots_of,
)
from paydraw.db.engine import make_engine
from paydraw.db.migrate import upgrade
from paydraw.settings import Settings
from paydraw.worker import build_worker

TARGET_RATIO = 0.75
TEMPORAL = Path(sysconfig.get_path("scripts")) / "temporal"
ACTIVITY_THREADS = 32  # what paydraw.worker.run gives its worker


@dataclass(frozen=True)
class Round:
    workflows_per_second: float
    invites_per_second: float
    children_per_second: float | None  # with --fan-out
    worker_slots: dict[str, Any]


async def one_round(
    client: Client, count: int, database_url: str, data_dir: Path, fan_out: bool
) -> Round:
    """Bare Temporal, then Paydraw, each with its own task queue and worker."""
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
            children = (
                await bare_workflows_per_second(client, count, slots, fan_out=True)
                if fan_out
                else None
            )
            paydraw = await paydraw_invites_per_second(
                client, settings, engine, worker, smtp, seeded
            )
    finally:
        smtp.controller.stop()
        engine.dispose()
    return Round(bare, paydraw, children, slots)


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


def table_row(label: str, bare: float, paydraw: float, fan_out: float | None) -> str:
    row = f"{label:<8}{bare:>18.1f}{paydraw:>19.1f}{paydraw / bare:>7.2f}"
    return row if fan_out is None else f"{row}{fan_out:>20.1f}"


def report(count: int, rounds: list[Round], facts: list[str]) -> bool:
    """Print every round, the medians and the verdict; True when the target is met."""
    bare = statistics.median(each.workflows_per_second for each in rounds)
    paydraw = statistics.median(each.invites_per_second for each in rounds)
    fan_outs = [each.children_per_second for each in rounds if each.children_per_second]
    fan_out = statistics.median(fan_outs) if fan_outs else None
    ratio = paydraw / bare
    passed = ratio >= TARGET_RATIO

    header = f"{'':<8}{'bare workflows/s':>18}{'Paydraw invites/s':>19}{'ratio':>7}"
    print(f"\nInvite throughput, N = {count}, {len(rounds)} rounds (bare, then Paydraw, in each)")
    print(header if fan_out is None else f"{header}{'fan-out children/s':>20}")
    for number, each in enumerate(rounds, start=1):
        print(
            table_row(
                f"round {number}",
                each.workflows_per_second,
                each.invites_per_second,
                each.children_per_second,
            )
        )
    print(table_row("median", bare, paydraw, fan_out))
    print(f"\nPaydraw/bare = {ratio:.2f}, target >= {TARGET_RATIO}: {'PASS' if passed else 'FAIL'}")
    if fan_out is not None:
        print(f"fan-out/bare = {fan_out / bare:.2f} (Temporal's own cost of one parent's fan-out)")
        print(f"Paydraw/fan-out = {paydraw / fan_out:.2f} (Paydraw's own work on that shape)")
    slots = ", ".join(f"{name} {value}" for name, value in rounds[0].worker_slots.items())
    print("\n" + "\n".join([*facts, f"workers   {slots} (None: the SDK's default), both sides"]))
    return passed


async def main(count: int, rounds: int, database_url: str | None, fan_out: bool) -> bool:
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
                latest = await one_round(env.client, count, url, data_dir, fan_out)
                results.append(latest)
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
    parser.add_argument(
        "--fan-out", action="store_true", help="also time bare Temporal's one-parent fan-out"
    )
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_arguments()
    passed = asyncio.run(
        main(arguments.commitments, arguments.rounds, arguments.database_url, arguments.fan_out)
    )
    sys.exit(0 if passed else 1)
