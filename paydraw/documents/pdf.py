"""HTML templates printed to PDF with WeasyPrint.

Every paper Paydraw prints is a Jinja2 template in ``paydraw/documents/templates/`` rendered to
HTML, then laid out by WeasyPrint (page size, margins, repeated table headers and page numbers
come from the template's CSS ``@page`` rules). A missing template value is an error, never a
blank figure on a certificate.

The papers are set in Liberation Sans and Mono, and WeasyPrint cuts each font down to the letters
used with HarfBuzz's subsetter. A process's first print says in the log what the machine lacks of
these (see the README, "What the worker's machine needs for the PDFs").
"""

import io
import logging
import threading
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from paydraw.display import money as shown_as_money

TEMPLATES_DIR = Path(__file__).parent / "templates"
# The families the papers' styles name first; any other is a fallback.
PAPER_FONTS = frozenset({"Liberation Sans", "Liberation Mono"})

logger = logging.getLogger(__name__)


@pass_context
def money(context: Any, amount: Decimal) -> str:
    """``Decimal("1234.5")`` → ``"$1,234.50"``, in the paper's ``currency`` (USD without one)."""
    return shown_as_money(amount, context.get("currency") or "USD")


def day(value: date) -> str:
    """``date(2026, 12, 5)`` → ``"December 5, 2026"``."""
    return f"{value:%B} {value.day}, {value.year}"


environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    auto_reload=False,
)
environment.filters["money"] = money
environment.filters["day"] = day


def html_of(template: str, context: Mapping[str, object]) -> str:
    """The paper as HTML (what the PDF prints, and what a test may read)."""
    return environment.get_template(template).render(context)


_fonts = threading.local()
# Each process checks its first print for what the machine lacks (see `shortfalls`).
_first_print_checked = threading.Event()


def pdf_of(template: str, context: Mapping[str, object]) -> bytes:
    """The paper as PDF bytes."""
    from weasyprint import HTML  # imported on first use: it loads Pango, slow to start

    html = HTML(string=html_of(template, context), base_url=str(TEMPLATES_DIR))
    pdf: bytes = html.write_pdf(font_config=font_configuration())
    if not _first_print_checked.is_set():
        _first_print_checked.set()
        for shortfall in shortfalls(pdf):
            logger.warning("printing: %s", shortfall)
    return pdf


def shortfalls(pdf: bytes) -> list[str]:
    """What this machine lacks to print the papers as designed, judged by `pdf`, a paper it
    printed: the fonts they are set in, and HarfBuzz's subsetter."""
    from weasyprint.text import ffi

    lacking = []
    printed_in = families_of(pdf)
    if printed_in and not printed_in & PAPER_FONTS:
        lacking.append(
            f"the papers print in {', '.join(sorted(printed_in))}, not in the fonts they are set "
            "in (Liberation Sans and Mono), which are not installed (Debian: fonts-liberation)"
        )
    if ffi.harfbuzz_subset is None:
        lacking.append(
            "HarfBuzz's subsetter is not installed (Debian: libharfbuzz-subset0): fonts are cut "
            "down in Python, for nearly twice the CPU per print"
        )
    return lacking


def families_of(pdf: bytes) -> set[str]:
    """The families of the fonts embedded on any page: ``/VRMYHF+Liberation-Sans-Bold`` is a
    subset of Liberation Sans; WeasyPrint names a family's words with dashes."""
    from pypdf import PdfReader

    families = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources: Any = page["/Resources"]
        for font in resources.get("/Font", {}).values():
            name = str(font.get_object()["/BaseFont"]).lstrip("/").split("+")[-1]
            words = [word for word in name.split("-") if word not in {"Bold", "Italic", "Oblique"}]
            families.add(" ".join(words))
    return families


def font_configuration() -> Any:
    """This thread's font configuration, made at its first print and kept: setting one up is
    an eighth of a certificate's printing time. One per thread, since WeasyPrint does not say
    that one may be shared between threads."""
    if not hasattr(_fonts, "configuration"):
        from weasyprint.text.fonts import FontConfiguration

        _fonts.configuration = FontConfiguration()
    return _fonts.configuration
