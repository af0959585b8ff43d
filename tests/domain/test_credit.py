from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paydraw.domain.credit import PaymentStatus, apply_credit, check_payment, payment_status
from paydraw.domain.errors import InvalidInput
from paydraw.domain.money import ZERO
from tests.domain.strategies import examples, money


class TestApplyCredit:
    def test_returns_the_balance_left(self) -> None:
        assert apply_credit(D("5000.00"), D("31950.00"), D("1200.00")) == D("3800.00")
        assert apply_credit(D("5000.00"), D("5000.00"), D("5000.00")) == ZERO

    @pytest.mark.parametrize(
        ("amount", "reason"),
        [
            (D(0), "must be more than 0.00"),
            (D("-1"), "must be more than 0.00"),
            (D("5000.01"), "credit balance is 5000.00"),
            (D("4000.01"), "amount due is 4000.00"),
        ],
    )
    def test_refuses_what_the_balance_or_the_amount_due_cannot_take(
        self, amount: D, reason: str
    ) -> None:
        with pytest.raises(InvalidInput) as raised:
            apply_credit(D("5000.00"), D("4000.00"), amount)
        assert (raised.value.field, raised.value.reason) == ("amount", reason)

    @given(
        money(0, 10**7), st.lists(st.tuples(money(-(10**5), 10**7), money(0, 10**7)), max_size=10)
    )
    @examples(500)
    def test_balance_never_goes_negative(self, balance: D, attempts: list[tuple[D, D]]) -> None:
        for amount, amount_due in attempts:
            allowed = ZERO < amount <= min(balance, amount_due)
            try:
                balance = apply_credit(balance, amount_due, amount)
            except InvalidInput:
                assert not allowed
            else:
                assert allowed
            assert balance >= ZERO


class TestPaymentStatus:
    @pytest.mark.parametrize(
        ("paid", "status"),
        [
            (D(0), PaymentStatus.UNPAID),
            (D("0.01"), PaymentStatus.PARTIALLY_PAID),
            (D("31949.99"), PaymentStatus.PARTIALLY_PAID),
            (D("31950.00"), PaymentStatus.PAID),
        ],
    )
    def test_follows_what_is_paid_against_the_amount_due(
        self, paid: D, status: PaymentStatus
    ) -> None:
        assert payment_status(D("31950.00"), paid) is status

    def test_nothing_due_counts_as_paid(self) -> None:
        assert payment_status(ZERO, ZERO) is PaymentStatus.PAID


class TestCheckPayment:
    def test_accepts_up_to_the_remaining_amount_due(self) -> None:
        check_payment(D("31950.00"), D("30000.00"), D("1950.00"))

    @pytest.mark.parametrize(
        ("amount", "reason"),
        [
            (D(0), "must be more than 0.00"),
            (D("-5"), "must be more than 0.00"),
            (D("1950.01"), "remaining due is 1950.00"),
        ],
    )
    def test_refuses_nothing_or_more_than_remains(self, amount: D, reason: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            check_payment(D("31950.00"), D("30000.00"), amount)
        assert (raised.value.field, raised.value.reason) == ("amount", reason)

    @given(money(0, 10**7), st.lists(money(-(10**3), 10**7), max_size=20))
    @examples(500)
    def test_payments_never_exceed_the_amount_due(self, amount_due: D, amounts: list[D]) -> None:
        paid = ZERO
        for amount in amounts:
            try:
                check_payment(amount_due, paid, amount)
            except InvalidInput:
                continue
            paid += amount
            assert paid <= amount_due
        status = payment_status(amount_due, paid)
        assert (status is PaymentStatus.PAID) == (paid == amount_due)
        assert (status is PaymentStatus.UNPAID) == (paid == 0 < amount_due)
