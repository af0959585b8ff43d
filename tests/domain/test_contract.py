from decimal import Decimal as D

import pytest

from paydraw.domain.contract import Contract, SovLine
from paydraw.domain.errors import InvalidInput
from paydraw.domain.retainage import RetainageRule

FLAT_TEN = RetainageRule.flat(D(10))


class TestSums:
    def test_contract_sum_to_date_is_original_plus_approved_change_orders(self) -> None:
        contract = Contract(
            lines=(
                SovLine("a", "01", "Framing", D("60000"), change_orders=D("-2500")),
                SovLine("b", "02", "CO#1 blocking", D(0), change_orders=D("10000")),
            ),
            retainage=FLAT_TEN,
        )
        assert contract.original_sum == D("60000.00")
        assert contract.change_orders_sum == D("7500.00")
        assert contract.contract_sum_to_date == D("67500.00")
        assert [line.scheduled_value for line in contract.lines] == [D("57500.00"), D("10000.00")]

    def test_an_empty_sov_sums_to_zero(self) -> None:
        assert Contract(lines=(), retainage=FLAT_TEN).contract_sum_to_date == D("0.00")


class TestLineLookup:
    def test_finds_a_line_by_id(self) -> None:
        line = SovLine("a", "01", "Framing", D(1))
        assert Contract(lines=(line,), retainage=FLAT_TEN).line("a") is line

    def test_unknown_line_is_invalid_input(self) -> None:
        with pytest.raises(InvalidInput, match="unknown SOV line zz") as raised:
            Contract(lines=(), retainage=FLAT_TEN).line("zz")
        assert raised.value.field == "lines"


class TestValidation:
    @pytest.mark.parametrize(
        ("line", "field"),
        [
            (SovLine("b", "02", "x", D(-1)), "lines[1].original_value"),
            (SovLine("b", "02", "x", D(5), change_orders=D("-5.01")), "lines[1].change_orders"),
            (SovLine("b", "02", "x", D(5), retainage_percent=D(101)), "lines[1].retainage_percent"),
            (SovLine("a", "02", "x", D(5)), "lines[1].id"),
        ],
    )
    def test_refuses_a_bad_line_naming_it(self, line: SovLine, field: str) -> None:
        first = SovLine("a", "01", "x", D(5))
        with pytest.raises(InvalidInput) as raised:
            Contract(lines=(first, line), retainage=FLAT_TEN)
        assert raised.value.field == field

    def test_a_deduct_may_take_a_line_to_zero(self) -> None:
        line = SovLine("a", "01", "x", D(5), change_orders=D(-5))
        assert Contract(lines=(line,), retainage=FLAT_TEN).contract_sum_to_date == D("0.00")

    def test_refuses_a_stored_materials_rate_over_one_hundred(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            Contract(lines=(), retainage=FLAT_TEN, stored_materials_retainage_percent=D(150))
        assert raised.value.field == "stored_materials_retainage_percent"
