"""Field types shared by every request and response model.

Money crosses every boundary (HTTP, Temporal payloads) as a string with two decimals, so it is never
a float anywhere on the way. What a client enters is bounded, so that no figure Paydraw computes
from it can outgrow what it stores and answers (``MoneyAmount``: twelve digits before the point).
"""

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

from paydraw.domain.money import LARGEST_AMOUNT

CENT = Decimal("0.01")
MAX_ENTERED_AMOUNT = LARGEST_AMOUNT
# Dates a client may enter: billing periods, due dates, payment dates.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2100, 12, 31)

# An amount as text: ASCII digits, an optional sign and point (Decimal itself would also take
# "1_000", full-width digits, "NaN" and exponents).
AMOUNT_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?|[+-]?\.[0-9]+", re.ASCII)
# Control characters: none in a name; line breaks and tabs are fine in free text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_CHARACTERS_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def percent_text(value: Decimal) -> str:
    """``Decimal("10.00")`` → ``"10"``, ``Decimal("7.50")`` → ``"7.5"`` (never ``"1E+1"``)."""
    return format(value.normalize(), "f")


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def _plain_amount(value: Any) -> Any:
    if isinstance(value, str) and not AMOUNT_TEXT.fullmatch(value.strip()):
        raise ValueError(
            "must be an amount such as 1234.56: digits 0-9, an optional minus sign and point"
        )
    return value


MoneyAmount = Annotated[
    Decimal,
    BeforeValidator(_plain_amount),
    Field(max_digits=14, decimal_places=2, examples=["31950.00"]),
    AfterValidator(_two_places),
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json"),
]

EnteredMoney = Annotated[MoneyAmount, Field(ge=-MAX_ENTERED_AMOUNT, le=MAX_ENTERED_AMOUNT)]
"""An amount a client enters: at most ten billion less a cent either way."""
PositiveMoney = Annotated[EnteredMoney, Field(gt=0)]
NonNegativeMoney = Annotated[EnteredMoney, Field(ge=0)]

PercentValue = Annotated[
    Decimal,
    BeforeValidator(_plain_amount),
    Field(ge=0, le=100, max_digits=7, decimal_places=4, examples=["10"]),
    PlainSerializer(lambda value: percent_text(value), return_type=str, when_used="json"),
]


def one_line(value: str) -> str:
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must be one line of text, without line breaks or control characters")
    return value


def _no_control_characters(value: str) -> str:
    if CONTROL_CHARACTERS_BUT_LINES.search(value):
        raise ValueError("must not contain control characters")
    return value


def _in_range(value: date) -> date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"must be a date from {FIRST_DATE} to {LAST_DATE}")
    return value


Text = Annotated[str, Field(max_length=2000), AfterValidator(_no_control_characters)]
"""Free text (notes, reasons, messages): line breaks allowed."""
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(one_line)]
"""A name that must be given: one line, as it goes into email subjects and greetings."""
Label = Annotated[str, Field(max_length=200), AfterValidator(one_line)]
"""A name that may be left empty."""
EnteredDate = Annotated[date, AfterValidator(_in_range)]
