"""Does an invite cost the same in a big period as in a small one?

    uv run python -m benchmarks.invite_scaling [--small N] [--large N] [--rounds R]
                                               [--database-url URL]

Paydraw's invite of every commitment of a period (as ``benchmarks.invites`` times it: one HTTP
request, until the SMTP server's 250 for each invite email) at a small N and at a large N, in
alternating rounds on one Temporal dev server, and bare Temporal's one-activity workflows at the
same two sizes beside them, so that a rate that falls with N can be told apart from the server's
own. Target: Paydraw's median rate at the large N within 20 % of its rate at the small N.
"""

import argparse
import asyncio
import statistics
import sys
from dataclasses import dataclass

from benchmarks.measure import (
    bare_workflows_per_second,
    dev_server,
    machine_facts,
    paydraw_invites_per_second,
    paydraw_round,
    paydraw_worker_slots,
)

TARGET = 0.8  # the large N's rate over the small N's


@dataclass(frozen=True)
class Rates:
    bare: float
    paydraw: float


async def main(small: int, large: int, rounds: int, database_url: str | None) -> bool:
    facts = machine_facts(database_url or "sqlite")
    measured: dict[int, list[Rates]] = {small: [], large: []}
    async with dev_server() as server:
        client = server.client
        slots = await paydraw_worker_slots(client)
        for number in range(1, rounds + 1):
            for count in (small, large):
                data_dir = server.workdir / f"round-{number}-{count}"
                url = database_url or f"sqlite:///{data_dir / 'paydraw.db'}"
                async with paydraw_round(client, count, url, data_dir) as paydraw:
                    bare = await bare_workflows_per_second(client, count, slots, data_dir)
                    invites = await paydraw_invites_per_second(client, paydraw)
                measured[count].append(Rates(bare, invites))
                print(
                    f"round {number}, N = {count}: bare {bare:.1f} workflows/s, "
                    f"Paydraw {invites:.1f} invites/s",
                    flush=True,
                )

    def median(count: int, side: str) -> float:
        rates: list[float] = [getattr(each, side) for each in measured[count]]
        return statistics.median(rates)

    print(f"\nInvites at N = {small} and N = {large}, {rounds} rounds, medians")
    print(f"{'':<12}{'bare workflows/s':>18}{'Paydraw invites/s':>19}")
    for count in (small, large):
        print(
            f"{f'N = {count}':<12}{median(count, 'bare'):>18.1f}{median(count, 'paydraw'):>19.1f}"
        )
    paydraw_ratio = median(large, "paydraw") / median(small, "paydraw")
    bare_ratio = median(large, "bare") / median(small, "bare")
    passed = paydraw_ratio >= TARGET
    print(f"\nbare, N = {large} over N = {small}: {bare_ratio:.2f}")
    verdict = "PASS" if passed else "FAIL"
    print(
        f"Paydraw, N = {large} over N = {small}: {paydraw_ratio:.2f}, target >= {TARGET}: {verdict}"
    )
    print("\n" + "\n".join(facts))
    return passed


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.invite_scaling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--small", type=int, default=250, metavar="N")
    parser.add_argument("--large", type=int, default=4000, metavar="N")
    parser.add_argument("--rounds", type=int, default=3, metavar="R")
    parser.add_argument("--database-url", help="PostgreSQL instead of a fresh SQLite file")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_arguments()
    passed = asyncio.run(
        main(arguments.small, arguments.large, arguments.rounds, arguments.database_url)
    )
    sys.exit(0 if passed else 1)
