from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paydraw.domain.errors import InvalidInput
from paydraw.domain.money import CENT, ZERO, percent_of, require_percent, spread_pro_rata, to_money
from tests.domain.strategies import cents, examples, money


class TestToMoney:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (D("1.005"), "1.01"),
            (D("1.004"), "1.00"),
            (D("-1.005"), "-1.01"),
            ("31950", "31950.00"),
            (7, "7.00"),
            ("-0.001", "0.00"),
        ],
    )
    def test_rounds_half_up_to_the_cent(self, value: D | int | str, expected: str) -> None:
        assert str(to_money(value)) == expected

    @pytest.mark.parametrize(
        "value", [0.1, 1.0, True, "NaN", "sNaN", "Infinity", "-inf", "abc", ""]
    )
    def test_refuses_float_and_anything_not_a_finite_amount(self, value: object) -> None:
        with pytest.raises(ValueError, match="not an amount of money"):
            to_money(value)  # type: ignore[arg-type]

    def test_zero_has_one_spelling(self) -> None:
        assert str(to_money(D("-0"))) == "0.00"
        assert to_money(D("-0")) == ZERO

    @given(money(-(10**12), 10**12))
    @examples(300)
    def test_money_is_unchanged_by_rounding_again(self, amount: D) -> None:
        assert to_money(amount) == amount
        assert to_money(str(amount)) == amount
        assert to_money(amount).as_tuple().exponent == -2


class TestPercentOf:
    def test_ten_percent_of_the_design_example(self) -> None:
        assert percent_of(D("64500.00"), D("10")) == D("6450.00")

    def test_rounds_half_up(self) -> None:
        assert percent_of(D("0.05"), D("10")) == D("0.01")
        assert percent_of(D("0.04"), D("10")) == D("0.00")
        assert percent_of(D("333.33"), D("7.5")) == D("25.00")


class TestRequirePercent:
    @pytest.mark.parametrize("percent", [D("0"), D("50.5"), D("100")])
    def test_accepts_zero_to_one_hundred(self, percent: D) -> None:
        assert require_percent(percent, "percent") == percent

    @pytest.mark.parametrize("percent", [D("-0.01"), D("100.01")])
    def test_refuses_outside_the_range_naming_the_field(self, percent: D) -> None:
        with pytest.raises(InvalidInput) as raised:
            require_percent(percent, "lines[0].percent_complete")
        assert raised.value.field == "lines[0].percent_complete"


class TestSpreadProRata:
    def test_remainder_cent_goes_to_the_first_of_equal_lines(self) -> None:
        assert spread_pro_rata(D("100.00"), [D(1), D(1), D(1)]) == [
            D("33.34"),
            D("33.33"),
            D("33.33"),
        ]

    def test_remainder_cents_go_to_the_largest_fractions_first(self) -> None:
        # Exact shares 0.0166.., 0.0333.., 0.05 (in cents: 1.66.., 3.33.., 5): floors 1, 3, 5;
        # the one leftover cent goes to the first share, whose fraction .66 beats .33.
        assert spread_pro_rata(D("0.10"), [D(1), D(2), D(3)]) == [D("0.02"), D("0.03"), D("0.05")]

    def test_negative_total_mirrors(self) -> None:
        assert spread_pro_rata(D("-100.00"), [D(1), D(1), D(1)]) == [
            D("-33.34"),
            D("-33.33"),
            D("-33.33"),
        ]

    def test_zero_weight_gets_nothing(self) -> None:
        assert spread_pro_rata(D("10.00"), [D(0), D(3), D(1)]) == [ZERO, D("7.50"), D("2.50")]

    def test_zero_total_is_all_zeros_even_over_zero_weights(self) -> None:
        assert spread_pro_rata(ZERO, [D(0), D(0)]) == [ZERO, ZERO]
        assert spread_pro_rata(ZERO, []) == []

    def test_refuses_a_total_over_weights_that_are_all_zero(self) -> None:
        with pytest.raises(ValueError, match="all zero"):
            spread_pro_rata(D("0.01"), [D(0), D(0)])
        with pytest.raises(ValueError, match="all zero"):
            spread_pro_rata(D("0.01"), [])

    def test_refuses_negative_weights(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            spread_pro_rata(D("1.00"), [D(2), D(-1)])

    @given(
        money(-(10**9), 10**9),
        st.lists(st.integers(0, 10**9).map(D), min_size=1, max_size=30).filter(any),
    )
    @examples(1000)
    def test_sums_to_the_total_each_share_within_a_cent_of_exact(
        self, total: D, weights: list[D]
    ) -> None:
        shares = spread_pro_rata(total, weights)
        assert sum(shares) == total
        assert len(shares) == len(weights)
        weight_sum = sum(weights)
        for share, weight in zip(shares, weights, strict=True):
            exact = Fraction(total) * Fraction(weight) / Fraction(weight_sum)
            assert abs(Fraction(share) - exact) < Fraction(CENT)
        assert spread_pro_rata(-total, weights) == [-share for share in shares]

    @given(st.data(), st.lists(money(0, 10**9), min_size=1, max_size=30))
    @examples(1000)
    def test_no_share_exceeds_its_cap_when_weights_are_caps(
        self, data: st.DataObject, caps: list[D]
    ) -> None:
        cap_total = int(sum(caps) * 100)
        total = data.draw(st.integers(0, cap_total).map(cents), label="total")
        shares = spread_pro_rata(total, caps)
        assert sum(shares) == total
        assert all(ZERO <= share <= cap for share, cap in zip(shares, caps, strict=True))
