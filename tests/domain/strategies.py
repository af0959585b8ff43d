"""Hypothesis strategies for the domain core: money, SOVs with change orders, retainage rules."""

from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st

from paydraw.domain.contract import Contract, SovLine
from paydraw.domain.retainage import RetainageRule, RetainageStep


def examples(count: int) -> settings:
    """Settings for a property test: `count` examples, no deadline (CI machines vary) and no
    example database, so a test run leaves nothing behind in the work tree."""
    return settings(max_examples=count, deadline=None, database=None)


def cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


def money(low: int = 0, high: int = 10**8) -> st.SearchStrategy[Decimal]:
    """Amounts from `low` to `high`, both in cents."""
    return st.integers(low, high).map(cents)


def percents() -> st.SearchStrategy[Decimal]:
    """0.00 to 100.00."""
    return money(0, 10_000)


def rates() -> st.SearchStrategy[Decimal]:
    """Retainage rates as they are written in contracts: whole or half percents up to 20."""
    return st.integers(0, 40).map(lambda halves: Decimal(halves) / 2)


@st.composite
def retainage_rules(draw: st.DrawFn) -> RetainageRule:
    """A flat rule, or up to three sliding steps at random thresholds."""
    thresholds = sorted(draw(st.sets(st.integers(1, 100), max_size=2)))
    step_rates = draw(st.lists(rates(), min_size=len(thresholds) + 1, max_size=len(thresholds) + 1))
    steps = [
        RetainageStep(rate, Decimal(until))
        for rate, until in zip(step_rates, thresholds, strict=False)
    ]
    return RetainageRule((*steps, RetainageStep(step_rates[-1], None)))


def _sov_line(index: int, original: int, change: int, rate: Decimal | None) -> SovLine:
    """A line of `original` cents; a negative `change` deducts that percent of it, a positive one
    adds that many thousands of dollars by change order."""
    change_orders = original * change // 100 if change < 0 else change * 100_000
    return SovLine(
        id=f"line-{index}",
        code=f"{index + 1:02}",
        description=f"Line {index + 1}",
        original_value=cents(original),
        change_orders=cents(change_orders),
        retainage_percent=rate,
    )


@st.composite
def contracts(draw: st.DrawFn, max_lines: int = 30) -> Contract:
    """An SOV of 1 to `max_lines` lines with random change orders and retainage."""
    line_values = st.tuples(st.integers(0, 10**8), st.integers(-100, 100), st.none() | rates())
    values = draw(st.lists(line_values, min_size=1, max_size=max_lines))
    return Contract(
        lines=tuple(_sov_line(index, *line) for index, line in enumerate(values)),
        retainage=draw(retainage_rules()),
        stored_materials_retainage_percent=draw(st.none() | rates()),
    )
