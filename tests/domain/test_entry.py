from collections.abc import Callable
from decimal import ROUND_DOWN
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paydraw.domain.contract import Contract, Draw, OverbillingPolicy, SovLine
from paydraw.domain.entry import (
    per_line_amounts,
    per_line_percent_complete,
    retainage_release,
    selected_draws,
    selected_lines,
    whole_contract_amount,
    whole_contract_percent,
)
from paydraw.domain.errors import InvalidInput, OverBillingError
from paydraw.domain.g702 import (
    LineEntry,
    LineHistory,
    billable,
    compute_application,
    history_after,
)
from paydraw.domain.money import CENT, ZERO
from paydraw.domain.overbilling import check_overbilling
from paydraw.domain.retainage import RetainageRule
from tests.domain.examples import (
    CO1_BLOCKING,
    DESIGN_CONTRACT,
    FRAMING,
    HISTORY_AFTER_FIRST,
    MOBILIZATION,
    WINDOWS,
)
from tests.domain.strategies import cents, contracts, examples, percents

THREE_EQUAL = Contract(
    lines=tuple(SovLine(f"l{n}", f"0{n}", f"Line {n}", D(1000)) for n in (1, 2, 3)),
    retainage=RetainageRule.flat(D(10)),
)

# After application #1 of the design example, with 8,000 of windows stored on site.
WITH_STORED = {**HISTORY_AFTER_FIRST, WINDOWS.id: LineHistory(materials_stored=D(8000))}

DRAWS = (
    Draw("d1", "Draw 1 of 4 - Mobilization", D("5000"), billed=True),
    Draw("d2", "Draw 2 of 4 - Framing started", D("11000")),
    Draw("d3", "Draw 3 of 4 - Framing complete", D("22000")),
)


def work(entries: dict[str, LineEntry]) -> dict[str, D]:
    return {line_id: entry.work_this_period for line_id, entry in entries.items()}


class TestPerLineAmounts:
    def test_takes_work_and_stored_per_line_in_sov_order(self) -> None:
        entries = per_line_amounts(
            DESIGN_CONTRACT, {WINDOWS.id: (D(7000), D(8000)), FRAMING.id: (D(18000), D(0))}
        )
        assert entries == {
            FRAMING.id: LineEntry(D("18000.00"), ZERO),
            WINDOWS.id: LineEntry(D("7000.00"), D("8000.00")),
        }

    def test_refuses_a_line_from_another_commitment(self) -> None:
        with pytest.raises(InvalidInput, match="unknown SOV line x"):
            per_line_amounts(DESIGN_CONTRACT, {"x": (D(1), D(0))})


class TestPerLinePercentComplete:
    def test_bills_up_to_the_percent_of_c_to_date(self) -> None:
        entries = per_line_percent_complete(DESIGN_CONTRACT, WITH_STORED, {FRAMING.id: D(70)})
        assert entries[FRAMING.id] == LineEntry(D("18000.00"), ZERO)

    def test_stored_material_counts_toward_the_percent_and_stays_stored(self) -> None:
        entries = per_line_percent_complete(DESIGN_CONTRACT, WITH_STORED, {WINDOWS.id: D(50)})
        assert entries[WINDOWS.id] == LineEntry(D("9500.00"), D("8000.00"))

    def test_lines_not_named_bill_nothing_and_keep_their_stored_material(self) -> None:
        entries = per_line_percent_complete(DESIGN_CONTRACT, WITH_STORED, {FRAMING.id: D(70)})
        assert entries[WINDOWS.id] == LineEntry(ZERO, D("8000.00"))
        assert entries[MOBILIZATION.id] == LineEntry()

    def test_a_lower_percent_is_a_correction(self) -> None:
        entries = per_line_percent_complete(DESIGN_CONTRACT, WITH_STORED, {FRAMING.id: D(30)})
        assert entries[FRAMING.id].work_this_period == D("-6000.00")

    @pytest.mark.parametrize(
        ("percent", "reason"),
        [(D("100.01"), "not a percent"), (D(-1), "not a percent"), (D(20), "less than the")],
    )
    def test_refuses_a_percent_it_cannot_bill_naming_the_line(
        self, percent: D, reason: str
    ) -> None:
        with pytest.raises(InvalidInput, match=reason) as raised:
            per_line_percent_complete(DESIGN_CONTRACT, WITH_STORED, {WINDOWS.id: percent})
        assert raised.value.field == "lines[2].percent_complete"


class TestWholeContractAmount:
    def test_remainder_cent_goes_to_the_first_line(self) -> None:
        entries = whole_contract_amount(THREE_EQUAL, {}, D("100.00"))
        assert list(work(entries).values()) == [D("33.34"), D("33.33"), D("33.33")]

    def test_spreads_pro_rata_to_what_is_still_billable(self) -> None:
        # Still billable: mobilization 0, framing 36,000, windows 27,000, blocking 10,000.
        entries = whole_contract_amount(DESIGN_CONTRACT, WITH_STORED, D("7300"))
        assert work(entries) == {
            MOBILIZATION.id: ZERO,
            FRAMING.id: D("3600.00"),
            WINDOWS.id: D("2700.00"),
            CO1_BLOCKING.id: D("1000.00"),
        }
        assert entries[WINDOWS.id].materials_stored == D("8000.00")

    def test_the_whole_billable_amount_fills_every_line(self) -> None:
        entries = whole_contract_amount(DESIGN_CONTRACT, WITH_STORED, D("73000"))
        assert work(entries)[FRAMING.id] == D("36000.00")

    @pytest.mark.parametrize("amount", [D("-0.01"), D("73000.01")])
    def test_refuses_more_than_is_billable_naming_it(self, amount: D) -> None:
        with pytest.raises(InvalidInput, match=r"73000\.00 is billable") as raised:
            whole_contract_amount(DESIGN_CONTRACT, WITH_STORED, amount)
        assert raised.value.field == "amount"


class TestWholeContractPercent:
    def test_bills_up_to_the_percent_of_the_contract_sum_to_date(self) -> None:
        # 50% of 110,000 is 55,000; 37,000 is billed and stored, so 18,000 is spread.
        entries = whole_contract_percent(DESIGN_CONTRACT, WITH_STORED, D(50))
        assert sum(work(entries).values()) == D("18000.00")
        application = compute_application(DESIGN_CONTRACT, WITH_STORED, entries, ZERO)
        assert application.summary.total_completed_and_stored == D("55000.00")

    def test_refuses_a_percent_below_what_is_billed(self) -> None:
        with pytest.raises(InvalidInput, match=r"bills -4000\.00") as raised:
            whole_contract_percent(DESIGN_CONTRACT, WITH_STORED, D(30))
        assert raised.value.field == "percent"

    def test_refuses_a_percent_over_one_hundred(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            whole_contract_percent(DESIGN_CONTRACT, WITH_STORED, D(101))
        assert raised.value.field == "percent"


class TestSelectedDraws:
    def test_spreads_the_selected_draws_like_one_amount(self) -> None:
        entries = selected_draws(DESIGN_CONTRACT, WITH_STORED, DRAWS, ["d2", "d3"])
        assert entries == whole_contract_amount(DESIGN_CONTRACT, WITH_STORED, D("33000"))

    def test_a_draw_selected_twice_bills_once(self) -> None:
        twice = selected_draws(DESIGN_CONTRACT, WITH_STORED, DRAWS, ["d2", "d2"])
        assert sum(work(twice).values()) == D("11000.00")

    @pytest.mark.parametrize(
        ("selected", "reason"),
        [
            (["d1"], "draw Draw 1 of 4 - Mobilization is already billed"),
            (["d9"], "unknown draw d9"),
            ([], "select at least one draw"),
        ],
    )
    def test_refuses_a_draw_it_cannot_bill(self, selected: list[str], reason: str) -> None:
        with pytest.raises(InvalidInput, match=reason) as raised:
            selected_draws(DESIGN_CONTRACT, WITH_STORED, DRAWS, selected)
        assert raised.value.field == "draw_ids"


class TestSelectedLines:
    def test_bills_each_selected_line_to_its_remaining_balance(self) -> None:
        entries = selected_lines(DESIGN_CONTRACT, WITH_STORED, [WINDOWS.id, CO1_BLOCKING.id])
        assert entries == {
            MOBILIZATION.id: LineEntry(),
            FRAMING.id: LineEntry(),
            WINDOWS.id: LineEntry(D("27000.00"), D("8000.00")),
            CO1_BLOCKING.id: LineEntry(D("10000.00")),
        }

    def test_refuses_an_empty_or_unknown_selection(self) -> None:
        with pytest.raises(InvalidInput, match="select at least one line"):
            selected_lines(DESIGN_CONTRACT, WITH_STORED, [])
        with pytest.raises(InvalidInput, match="unknown SOV line x"):
            selected_lines(DESIGN_CONTRACT, WITH_STORED, ["x"])


class TestRetainageRelease:
    def test_releases_everything_held_by_default(self) -> None:
        entries = retainage_release(DESIGN_CONTRACT, WITH_STORED, None)
        assert entries[MOBILIZATION.id] == LineEntry(retainage_release=D("500.00"))
        assert entries[FRAMING.id] == LineEntry(retainage_release=D("2400.00"))
        assert entries[WINDOWS.id] == LineEntry(materials_stored=D("8000.00"))

    def test_spreads_a_part_pro_rata_to_what_each_line_holds(self) -> None:
        entries = retainage_release(DESIGN_CONTRACT, WITH_STORED, D("1450"))
        releases = [entry.retainage_release for entry in entries.values()]
        assert releases == [D("250.00"), D("1200.00"), ZERO, ZERO]

    def test_what_was_released_before_is_not_held(self) -> None:
        history = {
            **WITH_STORED,
            FRAMING.id: LineHistory(
                D(24000), retainage_held_work=D(2400), retainage_released=D(2400)
            ),
        }
        entries = retainage_release(DESIGN_CONTRACT, history, None)
        assert entries[FRAMING.id].retainage_release == ZERO
        assert entries[MOBILIZATION.id].retainage_release == D("500.00")

    @pytest.mark.parametrize("amount", [D(0), D("2900.01")])
    def test_refuses_nothing_or_more_than_is_held(self, amount: D) -> None:
        with pytest.raises(InvalidInput, match=r"at most the 2900\.00 held") as raised:
            retainage_release(DESIGN_CONTRACT, WITH_STORED, amount)
        assert raised.value.field == "amount"

    def test_refuses_when_nothing_is_held(self) -> None:
        with pytest.raises(InvalidInput, match=r"at most the 0\.00 held"):
            retainage_release(DESIGN_CONTRACT, {}, None)


EntryMode = Callable[[Contract, dict[str, LineHistory]], dict[str, LineEntry]]


@st.composite
def entry_modes(draw: st.DrawFn, contract: Contract) -> tuple[str, EntryMode]:
    """One of the entry modes with random arguments. Typed amounts go up to twice C, so some of
    them over-bill; the other modes must never do so."""
    ids = [line.id for line in contract.lines]
    some_ids = st.lists(st.sampled_from(ids), min_size=1, unique=True)
    mode = draw(
        st.sampled_from(
            ["amounts", "line_percent", "percent", "amount", "draws", "lines", "release"]
        )
    )
    if mode == "amounts":
        typed = {
            line.id: (
                cents(draw(st.integers(0, int(line.scheduled_value * 200)))),
                cents(draw(st.integers(0, int(line.scheduled_value * 50)))),
            )
            for line in draw(st.lists(st.sampled_from(contract.lines), unique=True))
        }
        return mode, lambda contract, history: per_line_amounts(contract, typed)
    if mode == "line_percent":
        by_line = {line_id: draw(percents()) for line_id in draw(some_ids)}
        return mode, lambda contract, history: per_line_percent_complete(contract, history, by_line)
    if mode == "percent":
        percent = draw(percents())
        return mode, lambda contract, history: whole_contract_percent(contract, history, percent)
    if mode == "amount":
        share = draw(st.integers(0, 100))
        return mode, lambda contract, history: whole_contract_amount(
            contract, history, _fraction_of_billable(contract, history, share)
        )
    if mode == "draws":
        share = draw(st.integers(0, 100))
        return mode, lambda contract, history: selected_draws(
            contract,
            history,
            [Draw("draw", "Draw", _fraction_of_billable(contract, history, share))],
            ["draw"],
        )
    if mode == "lines":
        chosen = draw(some_ids)
        return mode, lambda contract, history: selected_lines(contract, history, chosen)
    amount = draw(st.none() | st.integers(1, 10**6).map(cents))
    return mode, lambda contract, history: retainage_release(contract, history, amount)


def _fraction_of_billable(contract: Contract, history: dict[str, LineHistory], share: int) -> D:
    remaining = sum(
        (
            billable(line.scheduled_value, history.get(line.id, LineHistory()).completed_and_stored)
            for line in contract.lines
        ),
        ZERO,
    )
    return (remaining * share / 100).quantize(CENT, rounding=ROUND_DOWN)


class TestEveryModeStaysWithinTheSov:
    @given(contracts(), st.data())
    @examples(600)
    def test_g_stays_between_zero_and_c_after_an_accepted_application(
        self, contract: Contract, data: st.DataObject
    ) -> None:
        history: dict[str, LineHistory] = {}
        certificate = ZERO
        for _ in range(2):
            mode, fill = data.draw(entry_modes(contract), label="mode")
            try:
                entries = fill(contract, history)
            except InvalidInput as refused:
                # Only requests that cannot be billed are refused, and they name their field.
                assert mode in {"line_percent", "percent", "release"}, refused
                continue
            application = compute_application(contract, history, entries, certificate)
            try:
                assert check_overbilling(contract, application, OverbillingPolicy.BLOCK, None) == []
            except OverBillingError:
                assert mode == "amounts"
                continue
            for line in application.lines:
                assert ZERO <= line.completed_and_stored <= line.scheduled_value
            history = history_after(contract, history, application)
            certificate = application.summary.total_earned_less_retainage
