"""What every HTML page shares: one autoescaping template environment and its filters.

A missing template value is an error (StrictUndefined), never a silently blank field on a page.
"""

from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from paydraw.display import money as shown_as_money


@pass_context
def money(context: Any, amount: Decimal) -> str:
    """``Decimal("1234.5")`` → ``"$1,234.50"``, in the page's ``currency`` (USD without one)."""
    return shown_as_money(amount, context.get("currency") or "USD")


environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
)
environment.filters["money"] = money

templates = Jinja2Templates(env=environment)

# The pages' scripts (htmx, pinned: api/pages/static/htmx-<version>.min.js, with its licence)
# come from the app itself, never from a CDN.
PAGE_ASSETS_URL = "/static/pages"


def page_assets() -> StaticFiles:
    return StaticFiles(directory=Path(__file__).parent / "static")
