"""Amounts as people read them, in pages and emails: ``$24,300.00``, in the project's currency.
The JSON API keeps exact decimal strings; this is for eyes only."""

from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision, get_currency_symbol, list_currencies

# How amounts are written: the US English conventions of the GCs and subcontractors Paydraw is
# for (digit grouping with commas, a point before the cents), whatever the currency.
LOCALE = "en_US"
CURRENCIES = frozenset(list_currencies())


@lru_cache(maxsize=256)
def _written(currency: str) -> tuple[str, int, Decimal]:
    """The currency's symbol in US English and its number of decimals, from Babel's CLDR data
    once: a page of 300 G703 lines shows thousands of amounts, and formatting each through
    Babel's pattern engine cost more than the rest of the page."""
    digits = get_currency_precision(currency)
    return get_currency_symbol(currency, locale=LOCALE), digits, Decimal(1).scaleb(-digits)


def money(amount: Decimal, currency: str = "USD") -> str:
    """``$24,300.00``; ``-$1,250.00`` below zero; ``€1,000.00``, ``CA$1,000.00`` elsewhere,
    written as Babel's ``format_currency`` writes it for US English (``¤#,##0.00``)."""
    symbol, digits, quantum = _written(currency)
    rounded = Decimal(amount).quantize(quantum, rounding=ROUND_HALF_EVEN)
    digits_text = f"{abs(rounded):,.{digits}f}"
    return f"-{symbol}{digits_text}" if amount < 0 else f"{symbol}{digits_text}"
