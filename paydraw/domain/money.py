"""Money: `Decimal` with two places, rounded half-up, never `float`."""

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from paydraw.domain.errors import InvalidInput

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The largest amount Paydraw takes: one entered amount, a commitment's contract sum to date, what
# is billed on a line, a credit balance. Every figure computed from them stays a hundred times
# below what a figure can hold (twelve digits before the point).
LARGEST_AMOUNT = Decimal("9999999999.99")


def to_money(value: Decimal | int | str) -> Decimal:
    """`value` to the cent, half-up.

    A float is refused rather than converted: 0.1 has no exact binary form, and a cent lost in a
    conversion is a cent the certificate cannot account for.
    """
    if isinstance(value, float | bool):
        raise ValueError(f"{value!r} is not an amount of money; use Decimal or str")
    try:
        amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError) as error:
        raise ValueError(f"{value!r} is not an amount of money") from error
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount of money")
    # -0.00 would reach JSON as "-0.00"; zero has one spelling.
    return ZERO if amount.is_zero() else amount


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """`percent` % of `amount`, to the cent, half-up."""
    return to_money(amount * percent / 100)


def require_percent(percent: Decimal, field: str) -> Decimal:
    """`percent` if it lies in 0..100, else InvalidInput naming `field`."""
    if not 0 <= percent <= 100:
        raise InvalidInput(field, f"{percent} is not a percent between 0 and 100")
    return percent


def spread_pro_rata(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `total` over `weights` in proportion, to the cent, summing to exactly `total`.

    The rule (largest remainder): each share's exact value, total * weight / sum(weights), is cut
    to whole cents toward zero; the cents left over go one each to the shares with the largest
    cut-off fraction, ties to the earlier share (SOV order). So 100.00 over three equal lines is
    33.34, 33.33, 33.33. A negative total is split as its absolute value and negated, so the rule
    mirrors. A zero weight gets nothing, and when the weights are whole-cent caps and `total` is
    within their sum, no share exceeds its cap. A zero total over any weights is all zeros.
    """
    cents = _to_cents(total)
    if any(weight < 0 for weight in weights):
        raise ValueError("weights cannot be negative")
    if cents == 0:
        return [ZERO] * len(weights)
    weight_sum = Fraction(sum(weights, ZERO))
    if weight_sum == 0:
        raise ValueError(f"cannot spread {to_money(total)} over weights that are all zero")
    exact = [abs(cents) * Fraction(weight) / weight_sum for weight in weights]
    shares = [math.floor(share) for share in exact]
    remainders = [share - floored for share, floored in zip(exact, shares, strict=True)]
    leftover = abs(cents) - sum(shares)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-remainders[i], i))
    for position in by_remainder[:leftover]:
        shares[position] += 1
    sign = 1 if cents > 0 else -1
    return [_from_cents(sign * share) for share in shares]


def _to_cents(amount: Decimal) -> int:
    return int(to_money(amount).scaleb(2))


def _from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def require_within_largest(amount: Decimal, field: str, what: str) -> None:
    """InvalidInput naming `field` when `what` (`amount`) is beyond the largest amount taken."""
    if abs(amount) > LARGEST_AMOUNT:
        raise InvalidInput(
            field, f"{what} would be {amount:.2f}; the largest Paydraw takes is {LARGEST_AMOUNT}"
        )
