"""The G702/G703 PDF, read back as text: DESIGN.md's worked example to the cent, the G703 totals,
DRAFT before finalization and never after, and a certificate that stays byte for byte the same."""

import io
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from activities.certificates import CertificateActivities, printer
from benchmarks.pdf import long_sov_document
from paydraw.commitments.schemas import ChangeOrderLineIn
from paydraw.db.tables import CertificatePdf, Project
from paydraw.documents.pdf import families_of, shortfalls
from paydraw.pay_apps import certificate_pdf
from paydraw.pay_apps.schemas import PayAppPublic
from tests.pay_apps.builders import Job, design_job
from workflows.messages import CertificateToPrint


def pages_of(pdf: bytes) -> list[str]:
    """Each page's text, its runs of spaces made one (the G703's columns are set in spaces)."""
    return [
        re.sub(r"[ \t]+", " ", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def design_example(job: Job) -> PayAppPublic:
    """Application #2 of DESIGN.md: #1 billed $29,000 and was certified, then CO#1 added $10,000
    of blocking; #2 bills framing, windows (with $8,000 stored) and the blocking."""
    first = job.create({"01": "5000", "02": "24000"})
    job.certify(first.id)
    job.change_order(
        "CO-1", ChangeOrderLineIn(code="04", description="CO#1 blocking", amount=Decimal(10000))
    )
    job.period()
    return job.create({"02": "18000", "03": ("7000", "8000"), "04": "2500"})


# The G702 of DESIGN.md's example, line by line, as the PDF prints it.
G702_LINES = [
    ("1. Original contract sum", "$100,000.00"),
    ("2. Net change by change orders", "$10,000.00"),
    ("3. Contract sum to date", "$110,000.00"),
    ("4. Total completed and stored to date", "$64,500.00"),
    ("5a. Of completed work", "$5,650.00"),
    ("5b. Of stored material", "$800.00"),
    ("Total retainage", "$6,450.00"),
    ("6. Total earned less retainage", "$58,050.00"),
    ("7. Less previous certificates for payment", "$26,100.00"),
    ("8. Current payment due", "$31,950.00"),
    ("9. Balance to finish, including retainage", "$51,950.00"),
    ("Amount certified", "$31,950.00"),
]


# A worker that starts its printer, says the printer's pid and waits to be killed.
KILLED_WORKER = """
import os, time
from activities.certificates import printer
with printer() as pool:
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(60)
"""
ROOT = Path(__file__).parents[2]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class TestTheCertificate:
    def test_every_g702_line_of_the_design_example_to_the_cent(self, engine: Engine) -> None:
        job = design_job(engine)
        second = design_example(job)
        job.certify(second.id)

        g702 = pages_of(certificate_pdf.g702_pdf(engine, second.id))[0]

        for label, amount in G702_LINES:
            assert re.search(rf"{re.escape(label)}[^\n$]*\n?[^\n$]*{re.escape(amount)}", g702), (
                label,
                amount,
            )
        assert "Approved this period" in g702 or "Approved before this period" in g702
        assert re.search(r"Net changes by change order \$10,000\.00", g702)
        assert "Acme Framing LLC" in g702 and "SC-001" in g702 and "Application no. 2" in g702
        assert "by ap@gc.example" in g702 and "Certified on" in g702

    def test_the_g703_lists_every_line_and_its_grand_total(self, engine: Engine) -> None:
        job = design_job(engine)
        second = design_example(job)
        job.certify(second.id)

        _, *g703 = pages_of(certificate_pdf.g702_pdf(engine, second.id))

        sheet = "\n".join(g703)
        # A, B, C, D, E, F, G, G/C, H, I
        assert (
            "03 Windows $35,000.00 $0.00 $7,000.00 $8,000.00 $15,000.00 42.86% $20,000.00 $1,500.00"
            in sheet
        )
        assert (
            "04 CO#1 blocking $10,000.00 $0.00 $2,500.00 $0.00 $2,500.00 25.00% $7,500.00 $250.00"
            in sheet
        )
        grand = (
            "Grand total $110,000.00 $29,000.00 $27,500.00 $8,000.00 $64,500.00 58.64% "
            "$45,500.00 $6,450.00"
        )
        assert grand in sheet

    def test_the_notary_block_is_there_when_the_project_asks_for_it(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "30000.00"})
        assert "Notary public" not in pages_of(certificate_pdf.g702_pdf(engine, pay_app.id))[0]

        def require_notary(session: object) -> None:
            project = session.get(Project, job.project_id)  # type: ignore[attr-defined]
            project.notary_required = True

        job.run(require_notary)
        assert "Notary public" in pages_of(certificate_pdf.g702_pdf(engine, pay_app.id))[0]

    def test_it_is_printed_in_the_fonts_its_style_names(self) -> None:
        """Liberation Sans, and Liberation Mono for the G703's rows. Without them the printer
        falls back to DejaVu: wider letters than the sheets were laid out for, and twice the CPU
        per print, most of it in cutting DejaVu's far larger tables down to the letters used."""
        printed = certificate_pdf.printed(long_sov_document(3))

        assert families_of(printed) == {"Liberation Sans", "Liberation Mono"}


# A print in a process of its own, whose fontconfig knows DejaVu only: as on a machine without
# Liberation.
PRINTED_WITHOUT_LIBERATION = """
from paydraw import logs
from benchmarks.pdf import long_sov_document
from paydraw.pay_apps import certificate_pdf
logs.configure()
document = long_sov_document(1)
certificate_pdf.printed(document)
certificate_pdf.printed(document)
"""
DEJAVU_ONLY = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{cache}</cachedir></fontconfig>
"""


class TestWhatPrintingLacks:
    def test_nothing_on_a_machine_set_up_by_make(self) -> None:
        assert shortfalls(certificate_pdf.printed(long_sov_document(1))) == []

    def test_a_process_first_print_logs_the_missing_fonts_once(self, tmp_path: Path) -> None:
        fonts_conf = tmp_path / "fonts.conf"
        fonts_conf.write_text(DEJAVU_ONLY.format(cache=tmp_path / "cache"))

        printed = subprocess.run(
            [sys.executable, "-c", PRINTED_WITHOUT_LIBERATION],
            cwd=ROOT,
            env={**os.environ, "FONTCONFIG_FILE": str(fonts_conf)},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

        warnings = [
            json.loads(line)
            for line in printed.stderr.splitlines()
            if line.startswith("{") and "printing:" in line
        ]
        assert len(warnings) == 1, printed.stderr
        assert warnings[0]["level"] == "warning"
        message = warnings[0]["message"]
        assert "DejaVu Sans" in message and "Debian: fonts-liberation" in message


class TestDraft:
    def test_every_page_says_draft_until_finalized_and_none_after(self, engine: Engine) -> None:
        job = design_job(engine)
        second = design_example(job)

        for step in (lambda: None, lambda: job.submit(second.id), lambda: job.approve(second.id)):
            step()
            pages = pages_of(certificate_pdf.g702_pdf(engine, second.id))
            assert len(pages) == 2
            assert all("DRAFT" in page for page in pages)

        job.finalize(second.id)
        pages = pages_of(certificate_pdf.g702_pdf(engine, second.id))
        assert len(pages) == 2
        assert not any("DRAFT" in page for page in pages)


class TestKept:
    def test_a_later_change_order_leaves_the_certificate_byte_for_byte(
        self, engine: Engine
    ) -> None:
        job = design_job(engine)
        second = design_example(job)
        job.certify(second.id)
        before = certificate_pdf.g702_pdf(engine, second.id)

        job.change_order(
            "CO-2", ChangeOrderLineIn(sov_line_id=job.lines["02"], amount=Decimal("5000.00"))
        )
        job.period()
        third = job.create({"02": "1000.00"})

        assert certificate_pdf.g702_pdf(engine, second.id) == before
        # The change order did move the contract: the next application shows it.
        assert "$115,000.00" in pages_of(certificate_pdf.g702_pdf(engine, third.id))[0]
        assert "$115,000.00" not in pages_of(before)[0]

    @pytest.mark.parametrize("where", ["printer process", "thread"])
    async def test_the_activity_run_twice_prints_one_pdf(self, engine: Engine, where: str) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "30000.00"})
        job.certify(pay_app.id)
        to_print = CertificateToPrint(pay_app_id=pay_app.id)

        with printer() as pool:
            activities = CertificateActivities(engine, pool if where == "printer process" else None)
            await ActivityEnvironment().run(activities.print_certificate, to_print)
            kept = kept_rows(job)
            await ActivityEnvironment().run(activities.print_certificate, to_print)

        assert kept_rows(job) == kept
        [(pdf, sha256)] = kept
        assert pdf is not None and pdf.startswith(b"%PDF")
        assert certificate_pdf.g702_pdf(engine, pay_app.id) == pdf
        assert len(sha256) == 64

    def test_the_printer_process_runs_behind_the_billing_steps(self) -> None:
        with printer() as pool:
            assert pool.submit(os.sched_getscheduler, 0).result() == os.SCHED_IDLE
            pid = pool.submit(os.getpid).result()
            assert os.getsid(pid) != os.getsid(0)  # a session, hence an autogroup, of its own
            assert Path(f"/proc/{pid}/autogroup").read_text().split()[-1] == "19"

    def test_the_printer_ends_when_its_worker_is_killed(self) -> None:
        """Out of the worker's process group, the printer gets no signal of the worker's; it
        notices the worker gone and ends."""
        worker = subprocess.Popen(
            [sys.executable, "-c", KILLED_WORKER],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert worker.stdout is not None
        printer_pid = int(worker.stdout.readline())
        worker.kill()
        worker.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{printer_pid}").exists() and not _zombie(printer_pid):
            assert time.monotonic() < deadline, "the printer outlived its worker"
            time.sleep(0.1)

    def test_prints_racing_each_other_keep_one_pdf_and_all_answer_with_it(
        self, engine: Engine
    ) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "30000.00"})
        job.certify(pay_app.id)
        answers: list[bytes] = []

        def download() -> None:
            answers.append(certificate_pdf.kept_pdf(engine, pay_app.id))

        racers = [threading.Thread(target=download) for _ in range(3)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()

        [(kept, _)] = kept_rows(job)
        assert answers == [kept, kept, kept]

    def test_finalizing_freezes_the_document_before_anything_prints(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "30000.00"})
        job.certify(pay_app.id)

        [(pdf, _)] = kept_rows(job)
        assert pdf is None  # the workflow's activity prints it, or the first download


def kept_rows(job: Job) -> list[tuple[bytes | None, str]]:
    query = select(CertificatePdf.pdf, CertificatePdf.sha256)
    return job.run(lambda session: [tuple(row) for row in session.exec(query)])


class TestALongSov:
    def test_prints_on_sheets_that_each_fit_a_page_with_its_totals(self) -> None:
        """A sheet overflowing its page would add a page; each page total is its own lines'."""
        document = long_sov_document(300)
        sheets = certificate_pdf.context_of(document)["sheets"]
        pages = pages_of(certificate_pdf.printed(document))

        assert len(sheets) > 5
        assert len(pages) == 1 + len(sheets)
        assert sum(len(sheet["rows"]) for sheet in sheets) == 300
        for page, sheet in zip(pages[1:], sheets, strict=True):
            assert (
                "Description of work" in page and "Retainage" in page
            )  # the header on every sheet
            total = re.search(r"Page total \$([\d,.]+) ", page)
            assert total is not None
            assert total[1] == f"{1000 * len(sheet['rows']):,}.00"
        assert "Grand total $300,000.00 $60,000.00 $30,000.00 $0.00 $90,000.00" in pages[-1]


class TestPictures:
    def test_the_g702_page_and_a_g703_page_as_png(self, tmp_path: Path) -> None:
        """The first G702 page (portrait) and the first G703 sheet (landscape), as pictures kept
        with the test's files, the way the page tests keep their screenshots."""
        pdf = tmp_path / "certificate.pdf"
        pdf.write_bytes(certificate_pdf.printed(long_sov_document(40)))

        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "110",
                "-f",
                "1",
                "-l",
                "2",
                str(pdf),
                str(tmp_path / "page"),
            ],
            check=True,
        )

        g702, g703 = sorted(tmp_path.glob("page-*.png"))
        assert png_size(g702) == (935, 1210)  # letter portrait at 110 dpi
        assert png_size(g703) == (1210, 935)  # letter landscape
        assert all(picture.stat().st_size > 50_000 for picture in (g702, g703))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height
