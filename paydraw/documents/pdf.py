"""HTML templates printed to PDF with WeasyPrint.

Every paper Paydraw prints is a Jinja2 template in ``paydraw/documents/templates/`` rendered to
HTML, then laid out by WeasyPrint (page size, margins, repeated table headers and page numbers
come from the template's CSS ``@page`` rules). A missing template value is an error, never a
blank figure on a certificate.
"""

import threading
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from paydraw.display import money as shown_as_money

TEMPLATES_DIR = Path(__file__).parent / "templates"


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


def pdf_of(template: str, context: Mapping[str, object]) -> bytes:
    """The paper as PDF bytes."""
    from weasyprint import HTML  # imported on first use: it loads Pango, slow to start

    html = HTML(string=html_of(template, context), base_url=str(TEMPLATES_DIR))
    pdf: bytes = html.write_pdf(font_config=font_configuration())
    return pdf


def font_configuration() -> Any:
    """This thread's font configuration, made at its first print and kept: setting one up is
    an eighth of a certificate's printing time. One per thread, since WeasyPrint does not say
    that one may be shared between threads."""
    if not hasattr(_fonts, "configuration"):
        from weasyprint.text.fonts import FontConfiguration

        _fonts.configuration = FontConfiguration()
    return _fonts.configuration
