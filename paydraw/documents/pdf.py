"""HTML templates printed to PDF with WeasyPrint.

Every paper Paydraw prints is a Jinja2 template in ``paydraw/documents/templates/`` rendered to
HTML, then laid out by WeasyPrint (page size, margins, repeated table headers and page numbers
come from the template's CSS ``@page`` rules). A missing template value is an error, never a
blank figure on a certificate.
"""

from collections.abc import Mapping
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


environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    auto_reload=False,
)
environment.filters["money"] = money


def html_of(template: str, context: Mapping[str, object]) -> str:
    """The paper as HTML (what the PDF prints, and what a test may read)."""
    return environment.get_template(template).render(context)


def pdf_of(template: str, context: Mapping[str, object]) -> bytes:
    """The paper as PDF bytes."""
    from weasyprint import HTML  # imported on first use: it loads Pango, slow to start

    pdf: bytes = HTML(string=html_of(template, context), base_url=str(TEMPLATES_DIR)).write_pdf()
    return pdf
