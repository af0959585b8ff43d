"""Payments and credit balances: what may be paid or applied against a pay app's amount due."""

from decimal import Decimal
from enum import StrEnum

from paydraw.domain.errors import InvalidInput
from paydraw.domain.money import to_money


class PaymentStatus(StrEnum):
    """A dimension of its own, apart from the pay app's status."""

    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"


def apply_credit(balance: Decimal, amount_due: Decimal, amount: Decimal) -> Decimal:
    """The commitment's credit balance after applying `amount` of it to a pay app.

    A credit balance never goes negative and is never applied beyond the amount due.
    """
    if amount <= 0:
        raise InvalidInput("amount", "must be more than 0.00")
    if amount > balance:
        raise InvalidInput("amount", f"credit balance is {balance}")
    if amount > amount_due:
        raise InvalidInput("amount", f"amount due is {amount_due}")
    return to_money(balance - amount)


def payment_status(amount_due: Decimal, paid: Decimal) -> PaymentStatus:
    """Paid once payments reach the amount due; a pay app with nothing due counts as paid."""
    if paid >= amount_due:
        return PaymentStatus.PAID
    if paid > 0:
        return PaymentStatus.PARTIALLY_PAID
    return PaymentStatus.UNPAID


def check_payment(amount_due: Decimal, paid_so_far: Decimal, amount: Decimal) -> None:
    """Refuse a payment that is not positive or would take payments beyond the amount due."""
    remaining = amount_due - paid_so_far
    if amount <= 0:
        raise InvalidInput("amount", "must be more than 0.00")
    if amount > remaining:
        raise InvalidInput("amount", f"remaining due is {to_money(remaining)}")
