"""Amounts as people read them in emails and pages, in the project's currency."""

from decimal import Decimal

import pytest
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from paydraw.display import CURRENCIES, LOCALE, money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("24300", "USD", "$24,300.00"),
        ("24300.5", "USD", "$24,300.50"),
        ("0.00", "USD", "$0.00"),
        ("-1250.00", "USD", "-$1,250.00"),
        ("9999999999.99", "USD", "$9,999,999,999.99"),
        ("1000.00", "CAD", "CA$1,000.00"),
        ("1000.00", "EUR", "€1,000.00"),
        ("1000.00", "GBP", "£1,000.00"),
    ],
)
def test_an_amount_reads_as_money(amount: str, currency: str, shown: str) -> None:
    assert money(Decimal(amount), currency) == shown


@settings(max_examples=500, deadline=None)
@given(
    amount=st.decimals(
        min_value=Decimal("-99999999999.99"),
        max_value=Decimal("99999999999.99"),
        allow_nan=False,
        allow_infinity=False,
        places=3,
    ),
    currency=st.sampled_from(sorted(CURRENCIES)),
)
def test_an_amount_reads_as_babel_writes_it(amount: Decimal, currency: str) -> None:
    # The fast path writes what Babel's pattern engine writes, for every currency it knows.
    assert money(amount, currency) == format_currency(amount, currency, locale=LOCALE)
