"""Pay-app lifecycle: Paydraw's HTTP API against bare Temporal updates, on one Temporal dev server.

    uv run python -m benchmarks.lifecycle [--commitments N] [--concurrency C] [--rounds R]
                                          [--database-url URL]

**Paydraw.** A project with N approved commitments, one invoice contact each, and a reviewer is
written through the services (set-up, not timed); a billing period is opened through the HTTP API.
Then every commitment goes through its whole lifecycle by HTTP, at most C lifecycles at a time:
the admin invites it; once the invite email reached the SMTP server, its contact accepts (with the
link's signed token), fills in the pay app (which creates it) and submits it; the reviewer approves
it; the admin finalizes it and records a payment of what it certifies, which pays it. Seven
requests, each timed on its own; every POST carries an Idempotency-Key, as a client that retries
safely sends. Paydraw runs as deployed: its worker (``python -m paydraw.worker``) and its API
(uvicorn) each in its own process, configured by ``PAYDRAW_*`` variables; this process is the
client (aiohttp over a socket) and the SMTP server. The database is a fresh SQLite file (WAL) per
round, or ``--database-url``.

**Bare Temporal.** The same seven steps as Workflow Updates on one workflow per commitment, each
validated, then run under a lock with one activity that does nothing (Paydraw's updates each run
one activity): the invite starts the workflow (update with start), the others follow one by one.
Same concurrency; this process is the client, and the worker runs in its own process too
(``python -m benchmarks.bare_worker``), with the slots and cache size of the Paydraw worker.

**Printed.** Lifecycles per second on each side and their ratio (target: Paydraw at least 0.75 of
bare), and the p50/p99 of one HTTP action against one bare update round trip (target: Paydraw's
p50 within 1.5x bare's), then the same per step, then the CPU time per lifecycle of each process:
this one (the client, and Paydraw's SMTP server), the side's own (Paydraw's API and worker, bare
Temporal's worker), the Temporal server. Rounds alternate, bare then Paydraw, each with its own
task queues, worker and API processes, SMTP server and database; the verdict is on the medians of
the rounds. After Paydraw's last lifecycle the run waits until every finalized pay app's G702/G703
is printed and kept (the worker's printer works in the moments the billing steps leave free), and
prints how long after that was and the CPU the worker and its printer used until then.
"""

import argparse
import asyncio
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bare import LIFECYCLE_STEPS
from benchmarks.lifecycle_runs import Timings, bare_lifecycles, paydraw_lifecycles
from benchmarks.measure import (
    DevServer,
    dev_server,
    machine_facts,
    paydraw_round,
    paydraw_worker_slots,
)

TARGET_THROUGHPUT_RATIO = 0.75
TARGET_P50_RATIO = 1.5
# The rows of the CPU table and the figure of benchmarks.processes.Cpu each shows; bare Temporal
# has no API, so its row of the API and the worker is its worker alone.
CPU_ROWS = (
    ("client (benchmark process)", "client"),
    ("API + worker processes", "processes"),
    ("  API process", "api"),
    ("  worker process (and its printer)", "worker"),
    ("Temporal server", "server"),
)


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99, in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


@dataclass(frozen=True)
class Side:
    """One side of one round: lifecycles per second and one action's p50/p99 (ms)."""

    per_second: float
    p50: float
    p99: float
    timings: Timings

    @classmethod
    def of(cls, count: int, timings: Timings) -> "Side":
        return cls(count / timings.elapsed, *percentiles(timings.actions), timings)

    @property
    def figures(self) -> tuple[float, float, float]:
        return self.per_second, self.p50, self.p99


def medians(sides: list[Side]) -> tuple[float, float, float]:
    """The median of each figure over the rounds."""
    per_second, p50, p99 = zip(*(side.figures for side in sides), strict=True)
    return statistics.median(per_second), statistics.median(p50), statistics.median(p99)


@dataclass(frozen=True)
class Round:
    bare: Side
    paydraw: Side


async def one_round(
    server: DevServer,
    count: int,
    concurrency: int,
    database_url: str,
    data_dir: Path,
    slots: dict[str, Any],
) -> Round:
    """Bare Temporal, then Paydraw, each with its own task queue and worker process."""
    async with paydraw_round(server.client, count, database_url, data_dir) as paydraw:
        bare = await bare_lifecycles(server, count, concurrency, slots, data_dir)
        timings = await paydraw_lifecycles(server, paydraw, concurrency)
    return Round(Side.of(count, bare), Side.of(count, timings))


def row(label: str, b: tuple[float, float, float], p: tuple[float, float, float]) -> str:
    return (
        f"{label:<8}{b[0]:>11.1f}{p[0]:>11.1f}{p[0] / b[0]:>7.2f}"
        f"{b[1]:>11.0f}{b[2]:>7.0f}{p[1]:>11.0f}{p[2]:>7.0f}{p[1] / b[1]:>7.2f}"
    )


def report(count: int, concurrency: int, rounds: list[Round], facts: list[str]) -> bool:
    """Print every round, the medians, the steps and the verdict; True when both targets are met."""
    bares, paydraws = [each.bare for each in rounds], [each.paydraw for each in rounds]
    bare, paydraw = medians(bares), medians(paydraws)
    throughput_ratio, p50_ratio = paydraw[0] / bare[0], paydraw[1] / bare[1]
    throughput_ok = throughput_ratio >= TARGET_THROUGHPUT_RATIO
    p50_ok = p50_ratio <= TARGET_P50_RATIO

    print(
        f"\nPay-app lifecycle, N = {count}, {concurrency} at a time, {len(rounds)} rounds "
        "(bare, then Paydraw, in each)"
    )
    print(f"{'':<8}{'lifecycles/s':>29}{'bare update ms':>18}{'HTTP action ms':>18}")
    print(
        f"{'':<8}{'bare':>11}{'Paydraw':>11}{'ratio':>7}"
        f"{'p50':>11}{'p99':>7}{'p50':>11}{'p99':>7}{'p50 x':>7}"
    )
    for number, each in enumerate(rounds, start=1):
        print(row(f"round {number}", each.bare.figures, each.paydraw.figures))
    print(row("median", bare, paydraw))

    print("\nper step, all rounds (ms)  bare p50   p99  Paydraw p50   p99  p50 x")
    for step in LIFECYCLE_STEPS:
        b50, b99 = percentiles([s for side in bares for s in side.timings.steps[step]])
        p50, p99 = percentiles([s for side in paydraws for s in side.timings.steps[step]])
        print(f"{step:<26}{b50:>10.0f}{b99:>6.0f}{p50:>13.0f}{p99:>6.0f}{p50 / b50:>7.2f}")
    emails = [s for side in paydraws for s in side.timings.invite_emails]
    e50, e99 = percentiles(emails)
    print(f"{'invite POST to its 250':<26}{'':>16}{e50:>13.0f}{e99:>6.0f}")

    def cpu(sides: list[Side], process: str) -> float:
        """Milliseconds per lifecycle, the median over the rounds."""
        per_lifecycle = [getattr(side.timings.cpu, process) / count for side in sides]
        return float(statistics.median(per_lifecycle)) * 1000

    print("\nCPU per lifecycle, median (ms)  bare  Paydraw")
    for label, process in CPU_ROWS:
        bare_cpu = "-" if process == "api" else f"{cpu(bares, process):.0f}"
        print(f"{label:<30}{bare_cpu:>6}{cpu(paydraws, process):>9.0f}")

    printing = [side.timings.printed_after for side in paydraws]
    printed_cpu = [side.timings.cpu_until_printed.worker / count * 1000 for side in paydraws]
    print(
        f"\ncertificates: every G702/G703 kept {statistics.median(printing):.1f} s after the last "
        f"lifecycle (rounds {', '.join(f'{each:.1f}' for each in printing)}); the worker and its "
        f"printer used {statistics.median(printed_cpu):.0f} ms of CPU per lifecycle until then"
    )

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    print(
        f"\nthroughput Paydraw/bare = {throughput_ratio:.2f}, target >= "
        f"{TARGET_THROUGHPUT_RATIO}: {verdict(throughput_ok)}"
    )
    print(
        f"action p50 Paydraw/bare = {p50_ratio:.2f}, target <= {TARGET_P50_RATIO}: "
        f"{verdict(p50_ok)}"
    )
    print("\n" + "\n".join(facts))
    return throughput_ok and p50_ok


async def main(count: int, concurrency: int, rounds: int, database_url: str | None) -> bool:
    results = []
    facts = machine_facts(database_url or "sqlite")
    # Concurrent invites of one period meet the server's limit of in-flight updates per workflow;
    # the client retries them, and the server's log of each refusal would drown the figures.
    async with dev_server(log_level="never") as server:
        slots = await paydraw_worker_slots(server.client)
        for number in range(1, rounds + 1):
            data_dir = server.workdir / f"round-{number}"
            url = database_url or f"sqlite:///{data_dir / 'paydraw.db'}"
            latest = await one_round(server, count, concurrency, url, data_dir, slots)
            results.append(latest)
            print(
                f"round {number}: bare {latest.bare.per_second:.1f} lifecycles/s "
                f"(update p50 {latest.bare.p50:.0f} ms), Paydraw "
                f"{latest.paydraw.per_second:.1f} lifecycles/s "
                f"(action p50 {latest.paydraw.p50:.0f} ms)",
                flush=True,
            )
    return report(count, concurrency, results, facts)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.lifecycle",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--commitments", type=int, default=500, metavar="N")
    parser.add_argument("--concurrency", type=int, default=32, metavar="C")
    parser.add_argument("--rounds", type=int, default=3, metavar="R")
    parser.add_argument("--database-url", help="PostgreSQL instead of a fresh SQLite file")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_arguments()
    passed = asyncio.run(
        main(arguments.commitments, arguments.concurrency, arguments.rounds, arguments.database_url)
    )
    sys.exit(0 if passed else 1)
