from decimal import Decimal as D

import pytest

from paydraw.domain.errors import InvalidInput
from paydraw.domain.retainage import RetainageRule, RetainageStep

TEN_UNTIL_HALF_THEN_FIVE = RetainageRule((RetainageStep(D(10), D(50)), RetainageStep(D(5), None)))


class TestFlatRule:
    def test_one_rate_however_complete(self) -> None:
        rule = RetainageRule.flat(D(10))
        assert rule.steps == (RetainageStep(D(10), None),)
        assert [rule.rate_at(D(p)) for p in (0, 50, 100)] == [D(10)] * 3


class TestSlidingRule:
    @pytest.mark.parametrize(
        ("percent_complete", "rate"),
        [(D(0), D(10)), (D("49.99"), D(10)), (D(50), D(5)), (D(100), D(5))],
    )
    def test_rate_changes_at_the_threshold(self, percent_complete: D, rate: D) -> None:
        assert TEN_UNTIL_HALF_THEN_FIVE.rate_at(percent_complete) == rate

    def test_three_steps(self) -> None:
        rule = RetainageRule(
            (RetainageStep(D(10), D(25)), RetainageStep(D(5), D(75)), RetainageStep(D(0)))
        )
        assert [rule.rate_at(D(p)) for p in (10, 25, 74, 75)] == [D(10), D(5), D(5), D(0)]


class TestValidation:
    @pytest.mark.parametrize(
        ("steps", "field"),
        [
            ((), "retainage.steps"),
            ((RetainageStep(D(-1)),), "retainage.steps[0].percent"),
            ((RetainageStep(D("100.01")),), "retainage.steps[0].percent"),
            ((RetainageStep(D(10), D(50)),), "retainage.steps[0].until_percent_complete"),
            (
                (RetainageStep(D(10)), RetainageStep(D(5))),
                "retainage.steps[0].until_percent_complete",
            ),
            (
                (RetainageStep(D(10), D(0)), RetainageStep(D(5))),
                "retainage.steps[0].until_percent_complete",
            ),
            (
                (RetainageStep(D(10), D(101)), RetainageStep(D(5))),
                "retainage.steps[0].until_percent_complete",
            ),
            (
                (RetainageStep(D(10), D(50)), RetainageStep(D(5), D(50)), RetainageStep(D(0))),
                "retainage.steps[1].until_percent_complete",
            ),
        ],
    )
    def test_refuses_a_rule_rate_at_could_not_read(
        self, steps: tuple[RetainageStep, ...], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as raised:
            RetainageRule(steps)
        assert raised.value.field == field

    def test_accepts_a_last_threshold_of_one_hundred(self) -> None:
        rule = RetainageRule((RetainageStep(D(10), D(100)), RetainageStep(D(0))))
        assert rule.rate_at(D(100)) == D(0)
