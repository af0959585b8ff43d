"""Invite throughput: Paydraw's invite to bill against bare Temporal, on one Temporal dev server.

    uv run python -m benchmarks.invites [--commitments N] [--rounds R] [--database-url URL]
                                        [--fan-out]

**Paydraw.** A project with N approved commitments, one invoice contact each, is written through
the services (set-up, not timed) and a billing period is opened through the HTTP API. Then one
HTTP request invites all N, and the clock runs from that request until a real SMTP server in this
process has answered 250 to all N invite emails. Paydraw runs as deployed: its worker
(``python -m paydraw.worker``) and its API (uvicorn) each in its own process, configured by
``PAYDRAW_*`` variables, and this process talks to the API over a socket. The database is a fresh
SQLite file (WAL) per round, or the PostgreSQL database of ``--database-url``.

**Bare Temporal.** N workflows that each run one activity that does nothing, all started at once
by this process, the client; the clock runs until the server closed the last of them (the
server's own close time, so polling for the end adds nothing). Its worker runs in its own process
too (``python -m benchmarks.bare_worker``), with the Paydraw worker's activity and workflow task
slots and cache size. The target compares Paydraw with this: at least 0.75 of its
rate. ``--fan-out`` also times the same N workflows started as children of one parent workflow,
as a billing period starts its commitments' workflows: Temporal's own cost of that shape, so the
gap can be split between the shape and Paydraw's work (database, email).

**Run order.** Rounds alternate, bare then Paydraw, and the medians are compared. On a shared
machine other processes come and go: alternating puts both sides through the same weather, and the
median drops a round that caught a storm. Every round has its own task queues, worker and API
processes (started before the clock, stopped after), SMTP server and database, so no round
inherits another's cache, backlog or tables. Bytecode is cached in a temporary folder, for the
subprocesses too (see ``benchmarks.measure.dev_server``).
"""

import argparse
import asyncio
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import (
    DevServer,
    bare_workflows_per_second,
    dev_server,
    machine_facts,
    paydraw_invites_per_second,
    paydraw_round,
    paydraw_worker_slots,
)

TARGET_RATIO = 0.75


@dataclass(frozen=True)
class Round:
    workflows_per_second: float
    invites_per_second: float
    children_per_second: float | None  # with --fan-out


async def one_round(
    server: DevServer,
    count: int,
    database_url: str,
    data_dir: Path,
    fan_out: bool,
    slots: dict[str, Any],
) -> Round:
    """Bare Temporal, then Paydraw, each with its own task queue and worker process."""
    client = server.client
    async with paydraw_round(client, count, database_url, data_dir) as paydraw:
        bare = await bare_workflows_per_second(client, count, slots, data_dir)
        children = (
            await bare_workflows_per_second(client, count, slots, data_dir, fan_out=True)
            if fan_out
            else None
        )
        invites = await paydraw_invites_per_second(client, paydraw)
    return Round(bare, invites, children)


def table_row(label: str, bare: float, paydraw: float, fan_out: float | None) -> str:
    row = f"{label:<8}{bare:>18.1f}{paydraw:>19.1f}{paydraw / bare:>7.2f}"
    return row if fan_out is None else f"{row}{fan_out:>20.1f}"


def report(count: int, rounds: list[Round], slots: dict[str, Any], facts: list[str]) -> bool:
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
    workers = ", ".join(f"{name} {value}" for name, value in slots.items())
    print("\n" + "\n".join([*facts, f"workers   {workers} (None: the SDK's default), both sides"]))
    return passed


async def main(count: int, rounds: int, database_url: str | None, fan_out: bool) -> bool:
    results = []
    facts = machine_facts(database_url or "sqlite")
    async with dev_server() as server:
        slots = await paydraw_worker_slots(server.client)
        for number in range(1, rounds + 1):
            data_dir = server.workdir / f"round-{number}"
            url = database_url or f"sqlite:///{data_dir / 'paydraw.db'}"
            latest = await one_round(server, count, url, data_dir, fan_out, slots)
            results.append(latest)
            print(
                f"round {number}: bare {latest.workflows_per_second:.1f} workflows/s, "
                f"Paydraw {latest.invites_per_second:.1f} invites/s",
                flush=True,
            )
    return report(count, results, slots, facts)


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
