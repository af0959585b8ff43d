"""What every HTML page shares: one autoescaping template environment and its filters.

A missing template value is an error (StrictUndefined), never a silently blank field on a page.
"""

from decimal import Decimal
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined


def money(amount: Decimal) -> str:
    """``Decimal("1234.5")`` → ``"1,234.50"``: two places, thousands separated."""
    return f"{amount:,.2f}"


environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
)
environment.filters["money"] = money

templates = Jinja2Templates(env=environment)
