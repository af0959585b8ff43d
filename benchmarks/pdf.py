"""How long printing a G702/G703 takes: the certificate of a 300-line SOV (the G702 page and
ten G703 sheets). Target: under 1 s on the build machine.

The baseline, timed in the same run since these machines are shared and noisy, is the same
paper for a one-line SOV (the G702 page and one G703 sheet): what every PDF costs whatever its
length. Rounds alternate the two; the medians, their ratio and the CPU time of each are printed.

    uv run python -m benchmarks.pdf [--lines 300] [--rounds 7]
"""

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import weasyprint

from paydraw.commitments.schemas import G702Summary
from paydraw.domain.transitions import PayAppStatus
from paydraw.pay_apps import certificate_pdf
from paydraw.pay_apps.certificate_pdf import (
    CertificateDocument,
    ChangeOrderSummary,
    G703Row,
)

TARGET_SECONDS = 1.0
TRADES = ("Concrete", "Framing", "Drywall", "Electrical rough-in", "Plumbing", "HVAC ductwork")


def long_sov_document(lines: int) -> CertificateDocument:
    """A certificate of `lines` SOV lines of $1,000.00 each, 30% complete with 10% retained,
    with descriptions as long as real ones ("Drywall, level 12 east wing")."""
    rows = [
        G703Row(
            code=f"{index + 1:03d}",
            description=f"{TRADES[index % len(TRADES)]}, level {index // 8 + 1} east wing",
            scheduled_value=Decimal("1000.00"),
            from_previous=Decimal("200.00"),
            this_period=Decimal("100.00"),
            materials_stored=Decimal("0.00"),
            completed_and_stored=Decimal("300.00"),
            percent_complete=Decimal("30.00"),
            balance_to_finish=Decimal("700.00"),
            retainage=Decimal("30.00"),
        )
        for index in range(lines)
    ]
    total = Decimal(1000 * lines)
    completed = Decimal(300 * lines)
    retained = Decimal(30 * lines)
    previous = Decimal(180 * lines)
    return CertificateDocument(
        pay_app_id="pap_benchmark",
        number=3,
        kind="progress",
        status=PayAppStatus.FINALIZED,
        project_name="Benchmark Tower",
        project_number="BT-1",
        general_contractor="Summit Builders",
        owner="Benchmark Tower LLC",
        terminology="general_contractor",
        currency="USD",
        notary_required=True,
        commitment_number="SC-300",
        commitment_title="Interiors",
        vendor_name="Acme Interiors LLC",
        period_start=date(2026, 12, 1),
        period_end=date(2026, 12, 31),
        submitted_on=date(2026, 12, 20),
        summary=G702Summary(
            original_contract_sum=total,
            net_change_by_change_orders=Decimal("0.00"),
            contract_sum_to_date=total,
            total_completed_and_stored=completed,
            retainage_on_completed_work=retained,
            retainage_on_stored_materials=Decimal("0.00"),
            retainage_released=Decimal("0.00"),
            total_retainage=retained,
            total_earned_less_retainage=completed - retained,
            previous_certificates=previous,
            current_payment_due=completed - retained - previous,
            balance_to_finish_with_retainage=total - completed + retained,
        ),
        change_orders=ChangeOrderSummary(),
        lines=rows,
        certified_at=datetime(2026, 12, 22, 15, 0, tzinfo=UTC),
        certified_by="ap@gc.example",
    )


def timed(print_it: Callable[[], bytes]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and the PDF's size."""
    wall, cpu = time.perf_counter(), time.process_time()
    pdf = print_it()
    return time.perf_counter() - wall, time.process_time() - cpu, len(pdf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    long_one = long_sov_document(args.lines)
    short_one = long_sov_document(1)
    pages = len(certificate_pdf.context_of(long_one)["sheets"]) + 1
    certificate_pdf.printed(short_one)  # the first print loads Pango and the fonts
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"date      {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine   {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}")
    print(f"load      {load} (1, 5, 15 min averages at the start)")
    print(f"python    {platform.python_implementation()} {platform.python_version()}")
    print(f"printer   WeasyPrint {weasyprint.__version__}")
    print(f"paper     G702 + G703 of {args.lines} lines ({pages} pages) vs of 1 line (2 pages)")
    print()
    longs, shorts = [], []
    for round_number in range(1, args.rounds + 1):
        shorts.append(timed(lambda: certificate_pdf.printed(short_one)))
        longs.append(timed(lambda: certificate_pdf.printed(long_one)))
        (wall, cpu, size), (base_wall, base_cpu, _) = longs[-1], shorts[-1]
        print(
            f"round {round_number}: {args.lines} lines {wall:.3f} s (cpu {cpu:.3f} s, "
            f"{size // 1024} KiB), 1 line {base_wall:.3f} s (cpu {base_cpu:.3f} s), "
            f"ratio {wall / base_wall:.2f}"
        )
    wall = statistics.median(each[0] for each in longs)
    cpu = statistics.median(each[1] for each in longs)
    base = statistics.median(each[0] for each in shorts)
    verdict = "PASS" if wall < TARGET_SECONDS else "FAIL"
    print()
    print(
        f"median: {args.lines} lines {wall:.3f} s (cpu {cpu:.3f} s), 1 line {base:.3f} s, "
        f"ratio {wall / base:.2f}; target < {TARGET_SECONDS:.0f} s: {verdict}"
    )


if __name__ == "__main__":
    main()
