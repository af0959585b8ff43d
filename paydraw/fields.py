"""Field types shared by every request and response model.

Money crosses every boundary (HTTP, Temporal payloads) as a string with two decimals, so it is never
a float anywhere on the way.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer

CENT = Decimal("0.01")


def percent_text(value: Decimal) -> str:
    """``Decimal("10.00")`` → ``"10"``, ``Decimal("7.50")`` → ``"7.5"`` (never ``"1E+1"``)."""
    return format(value.normalize(), "f")


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(CENT)


MoneyAmount = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2, examples=["31950.00"]),
    AfterValidator(_two_places),
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json"),
]

PositiveMoney = Annotated[MoneyAmount, Field(gt=0)]
NonNegativeMoney = Annotated[MoneyAmount, Field(ge=0)]

PercentValue = Annotated[
    Decimal,
    Field(ge=0, le=100, max_digits=7, decimal_places=4, examples=["10"]),
    PlainSerializer(lambda value: percent_text(value), return_type=str, when_used="json"),
]

Text = Annotated[str, Field(max_length=2000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
