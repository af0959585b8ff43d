"""Amounts as people read them, in pages and emails: ``$24,300.00``, in the project's currency.
The JSON API keeps exact decimal strings; this is for eyes only."""

from decimal import Decimal

from babel.numbers import format_currency, list_currencies

# How amounts are written: the US English conventions of the GCs and subcontractors Paydraw is
# for (digit grouping with commas, a point before the cents), whatever the currency.
LOCALE = "en_US"
CURRENCIES = frozenset(list_currencies())


def money(amount: Decimal, currency: str = "USD") -> str:
    """``$24,300.00``; ``-$1,250.00`` below zero; ``€1,000.00``, ``CA$1,000.00`` elsewhere."""
    return str(format_currency(amount, currency, locale=LOCALE))
