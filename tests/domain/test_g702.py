from dataclasses import replace
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paydraw.domain.contract import Contract, SovLine
from paydraw.domain.errors import InvalidInput
from paydraw.domain.g702 import (
    G702,
    Application,
    LineEntry,
    LineHistory,
    compute_application,
    history_after,
)
from paydraw.domain.money import ZERO, percent_of
from paydraw.domain.retainage import RetainageRule, RetainageStep
from tests.domain.examples import (
    CO1_BLOCKING,
    DESIGN_CONTRACT,
    FIRST_APPLICATION,
    FIRST_CERTIFICATE,
    FRAMING,
    HISTORY_AFTER_FIRST,
    MOBILIZATION,
    SECOND_APPLICATION,
    WINDOWS,
)
from tests.domain.strategies import cents, contracts, examples, money

TWO_HALVES = (SovLine("a", "01", "East wing", D(50000)), SovLine("b", "02", "West wing", D(50000)))


def second_application() -> Application:
    return compute_application(
        DESIGN_CONTRACT, HISTORY_AFTER_FIRST, SECOND_APPLICATION, FIRST_CERTIFICATE
    )


class TestDesignExample:
    def test_g702_to_the_cent(self) -> None:
        assert second_application().summary == G702(
            original_contract_sum=D("100000.00"),
            net_change_by_change_orders=D("10000.00"),
            contract_sum_to_date=D("110000.00"),
            total_completed_and_stored=D("64500.00"),
            retainage_on_completed_work=D("5650.00"),
            retainage_on_stored_materials=D("800.00"),
            retainage_released=D("0.00"),
            total_retainage=D("6450.00"),
            total_earned_less_retainage=D("58050.00"),
            previous_certificates=D("26100.00"),
            current_payment_due=D("31950.00"),
            balance_to_finish_with_retainage=D("51950.00"),
        )

    def test_g703_columns(self) -> None:
        rows = {line.line_id: line for line in second_application().lines}
        windows = rows[WINDOWS.id]
        assert (windows.scheduled_value, windows.from_previous, windows.this_period) == (
            D("35000.00"),
            D("0.00"),
            D("7000.00"),
        )
        assert (windows.materials_stored, windows.completed_and_stored) == (
            D("8000.00"),
            D("15000.00"),
        )
        assert (windows.percent_complete, windows.balance_to_finish) == (D("42.86"), D("20000.00"))
        assert (windows.retainage_work, windows.retainage_materials) == (D("700.00"), D("800.00"))
        assert windows.retainage == D("1500.00")
        framing = rows[FRAMING.id]
        assert (framing.from_previous, framing.completed_and_stored) == (
            D("24000.00"),
            D("42000.00"),
        )
        assert (framing.percent_complete, framing.billable_before) == (D("70.00"), D("36000.00"))
        assert rows[CO1_BLOCKING.id].scheduled_value == D("10000.00")
        assert [line.line_id for line in second_application().lines] == [
            MOBILIZATION.id,
            FRAMING.id,
            WINDOWS.id,
            CO1_BLOCKING.id,
        ]

    def test_first_application_leaves_the_history_and_certificate_of_the_example(self) -> None:
        first = compute_application(DESIGN_CONTRACT, {}, FIRST_APPLICATION, ZERO)
        assert first.summary.total_completed_and_stored == D("29000.00")
        assert first.summary.total_earned_less_retainage == FIRST_CERTIFICATE
        history = history_after(DESIGN_CONTRACT, {}, first)
        assert {line_id: history[line_id] for line_id in HISTORY_AFTER_FIRST} == HISTORY_AFTER_FIRST
        assert history[WINDOWS.id] == LineHistory()


class TestSlidingRetainage:
    rule = RetainageRule((RetainageStep(D(10), D(50)), RetainageStep(D(5), None)))
    contract = Contract(lines=TWO_HALVES, retainage=rule)

    def bill(self, history: dict[str, LineHistory], east: str, west: str) -> Application:
        entries = {"a": LineEntry(D(east)), "b": LineEntry(D(west))}
        return compute_application(self.contract, history, entries, ZERO)

    def test_the_step_is_chosen_by_completion_before_this_application(self) -> None:
        first = self.bill({}, "40000", "0")
        assert first.summary.retainage_on_completed_work == D("4000.00")
        # 40% complete going in, so all of this period's work is retained at 10%, though the
        # application itself takes the commitment to 60%.
        second = self.bill(history_after(self.contract, {}, first), "0", "20000")
        assert second.summary.retainage_on_completed_work == D("6000.00")

    def test_crossing_the_step_changes_the_rate_for_new_work_only(self) -> None:
        history = history_after(self.contract, {}, self.bill({}, "40000", "20000"))
        third = self.bill(history, "10000", "0")
        east = third.lines[0]
        # Held 4,000 on the first 40,000 stays; the new 10,000 is retained at 5%.
        assert east.retainage_work == D("4500.00")
        assert third.summary.retainage_on_completed_work == D("6500.00")
        assert third.summary.retainage_on_completed_work > percent_of(D(70000), D(5))

    def test_a_line_rate_overrides_the_sliding_rule(self) -> None:
        lines = (replace(TWO_HALVES[0], retainage_percent=D(0)), TWO_HALVES[1])
        contract = Contract(lines=lines, retainage=self.rule)
        application = compute_application(
            contract, {}, {"a": LineEntry(D(1000)), "b": LineEntry(D(1000))}, ZERO
        )
        assert [line.retainage_work for line in application.lines] == [ZERO, D("100.00")]


class TestStoredMaterials:
    def contract(self, stored_rate: D | None) -> Contract:
        return Contract(
            lines=TWO_HALVES,
            retainage=RetainageRule.flat(D(10)),
            stored_materials_retainage_percent=stored_rate,
        )

    def test_stored_material_has_its_own_rate(self) -> None:
        contract = self.contract(D(5))
        application = compute_application(
            contract, {}, {"a": LineEntry(D(10000), materials_stored=D(8000))}, ZERO
        )
        assert application.summary.retainage_on_completed_work == D("1000.00")
        assert application.summary.retainage_on_stored_materials == D("400.00")
        assert application.summary.total_retainage == D("1400.00")

    def test_stored_material_takes_the_line_rate_when_it_has_none(self) -> None:
        application = compute_application(
            self.contract(None), {}, {"a": LineEntry(materials_stored=D(8000))}, ZERO
        )
        assert application.summary.retainage_on_stored_materials == D("800.00")

    def test_installing_stored_material_moves_its_retainage_to_work(self) -> None:
        contract = self.contract(D(5))
        first = compute_application(contract, {}, {"a": LineEntry(materials_stored=D(8000))}, ZERO)
        history = history_after(contract, {}, first)
        certificate = first.summary.total_earned_less_retainage
        second = compute_application(contract, history, {"a": LineEntry(D(8000))}, certificate)
        assert second.lines[0].materials_stored_before == D("8000.00")
        assert second.summary.retainage_on_completed_work == D("800.00")
        assert second.summary.retainage_on_stored_materials == ZERO
        # 8,000 was billed as stored at 5%, now installed at 10%: 400 more is held.
        assert second.summary.current_payment_due == D("-400.00")


class TestRetainageRelease:
    def after_design_example(self) -> tuple[dict[str, LineHistory], D]:
        application = second_application()
        history = history_after(DESIGN_CONTRACT, HISTORY_AFTER_FIRST, application)
        return history, application.summary.total_earned_less_retainage

    def test_a_release_lowers_line_5_and_raises_line_8(self) -> None:
        history, certificate = self.after_design_example()
        entries = {
            MOBILIZATION.id: LineEntry(retainage_release=D(500)),
            WINDOWS.id: LineEntry(materials_stored=D(8000)),
        }
        release = compute_application(DESIGN_CONTRACT, history, entries, certificate)
        assert release.summary.total_completed_and_stored == D("64500.00")
        assert release.summary.retainage_released == D("500.00")
        assert release.summary.total_retainage == D("5950.00")
        assert release.summary.current_payment_due == D("500.00")
        assert release.lines[0].retainage == ZERO

    def test_released_retainage_stays_released_in_the_history(self) -> None:
        history, certificate = self.after_design_example()
        entries = {MOBILIZATION.id: LineEntry(retainage_release=D(200))}
        release = compute_application(DESIGN_CONTRACT, history, entries, certificate)
        after = history_after(DESIGN_CONTRACT, history, release)
        assert after[MOBILIZATION.id].retainage_released == D("200.00")
        assert after[MOBILIZATION.id].retainage_held_work == D("500.00")

    def test_cannot_release_more_than_is_held(self) -> None:
        history, certificate = self.after_design_example()
        entries = {MOBILIZATION.id: LineEntry(retainage_release=D("500.01"))}
        with pytest.raises(InvalidInput, match=r"more than the 500\.00 held") as raised:
            compute_application(DESIGN_CONTRACT, history, entries, certificate)
        assert raised.value.field == "lines[0].retainage_release"


class TestRefusals:
    @pytest.mark.parametrize(
        ("entry", "field"),
        [
            (LineEntry(work_this_period=D("-24000.01")), "lines[1].work_this_period"),
            (LineEntry(materials_stored=D("-1")), "lines[1].materials_stored"),
            (LineEntry(retainage_release=D("-1")), "lines[1].retainage_release"),
        ],
    )
    def test_refuses_negative_amounts_naming_the_line(self, entry: LineEntry, field: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            compute_application(DESIGN_CONTRACT, HISTORY_AFTER_FIRST, {FRAMING.id: entry}, ZERO)
        assert raised.value.field == field

    def test_a_correction_may_take_work_to_date_down_to_zero(self) -> None:
        entries = {FRAMING.id: LineEntry(work_this_period=D("-24000"))}
        application = compute_application(
            DESIGN_CONTRACT, HISTORY_AFTER_FIRST, entries, FIRST_CERTIFICATE
        )
        assert application.lines[1].completed_and_stored == ZERO
        assert application.lines[1].retainage_work == ZERO
        assert application.summary.current_payment_due == D("-21600.00")

    def test_refuses_a_line_from_another_commitment(self) -> None:
        with pytest.raises(InvalidInput, match="unknown SOV line elsewhere"):
            compute_application(DESIGN_CONTRACT, {}, {"elsewhere": LineEntry(D(1))}, ZERO)
        with pytest.raises(InvalidInput, match="unknown SOV line elsewhere"):
            compute_application(DESIGN_CONTRACT, {"elsewhere": LineHistory()}, {}, ZERO)

    def test_a_line_with_no_scheduled_value_is_zero_percent_complete(self) -> None:
        contract = Contract(
            lines=(SovLine("a", "01", "Allowance", D(0)),), retainage=RetainageRule.flat(D(10))
        )
        application = compute_application(contract, {}, {}, ZERO)
        assert application.lines[0].percent_complete == ZERO


class TestHistoryAfter:
    def test_lines_added_since_keep_their_history(self) -> None:
        first = compute_application(DESIGN_CONTRACT, {}, FIRST_APPLICATION, ZERO)
        added = SovLine("co2", "05", "CO#2 canopy", D(0), change_orders=D(4000))
        contract = replace(DESIGN_CONTRACT, lines=(*DESIGN_CONTRACT.lines, added))
        history = history_after(contract, {}, first)
        assert history["co2"] == LineHistory()
        assert history[FRAMING.id].work_completed == D("24000.00")


@st.composite
def line_entries(draw: st.DrawFn, line: SovLine, past: LineHistory) -> LineEntry:
    """Entries a contact could type within the line: work and stored material up to C, now and
    then a release of part of what the line holds, and corrections down to 0 on lines that have
    released nothing (a correction may not take retainage held below what was released)."""
    work_before = int(past.work_completed * 100)
    room = int(line.scheduled_value * 100) - work_before
    lowest = -work_before if past.retainage_released == 0 else 0
    work = draw(st.integers(lowest, room))
    stored = draw(st.integers(0, room - work)) if draw(st.booleans()) else 0
    held = int((past.retainage_held_work - past.retainage_released) * 100)
    release = draw(st.integers(0, held // 2)) if work >= 0 and draw(st.booleans()) else 0
    return LineEntry(cents(work), cents(stored), cents(release))


class TestApplicationChain:
    @given(contracts(max_lines=10), st.data())
    @examples(300)
    def test_line_8s_sum_to_the_last_certificate_and_the_form_adds_up(
        self, contract: Contract, data: st.DataObject
    ) -> None:
        history: dict[str, LineHistory] = {}
        certificate = ZERO
        payments_due = ZERO
        for _ in range(data.draw(st.integers(1, 5), label="applications")):
            entries = {
                line.id: data.draw(line_entries(line, history.get(line.id, LineHistory())))
                for line in contract.lines
            }
            application = compute_application(contract, history, entries, certificate)
            assert_form_adds_up(contract, application)
            payments_due += application.summary.current_payment_due
            history = history_after(contract, history, application)
            certificate = application.summary.total_earned_less_retainage
        assert payments_due == certificate

    @given(contracts(), st.data())
    @examples(200)
    def test_retainage_held_on_work_never_drops_without_a_release(
        self, contract: Contract, data: st.DataObject
    ) -> None:
        history: dict[str, LineHistory] = {}
        for _ in range(3):
            amounts = data.draw(
                st.lists(
                    money(0, 10**6), min_size=len(contract.lines), max_size=len(contract.lines)
                )
            )
            entries = {
                line.id: LineEntry(amount)
                for line, amount in zip(contract.lines, amounts, strict=True)
            }
            application = compute_application(contract, history, entries, ZERO)
            for line in application.lines:
                assert (
                    line.retainage_work
                    >= history.get(line.line_id, LineHistory()).retainage_held_work
                )
            history = history_after(contract, history, application)


def assert_form_adds_up(contract: Contract, application: Application) -> None:
    summary = application.summary
    assert summary.contract_sum_to_date == sum(line.scheduled_value for line in application.lines)
    assert summary.contract_sum_to_date == contract.contract_sum_to_date
    assert summary.total_completed_and_stored == sum(
        line.completed_and_stored for line in application.lines
    )
    assert summary.total_retainage == sum(line.retainage for line in application.lines)
    assert summary.total_retainage == (
        summary.retainage_on_completed_work
        + summary.retainage_on_stored_materials
        - summary.retainage_released
    )
    assert summary.total_earned_less_retainage == (
        summary.total_completed_and_stored - summary.total_retainage
    )
    assert summary.current_payment_due == (
        summary.total_earned_less_retainage - summary.previous_certificates
    )
    assert summary.balance_to_finish_with_retainage == (
        summary.contract_sum_to_date - summary.total_earned_less_retainage
    )
    for line in application.lines:
        assert line.completed_and_stored == (
            line.from_previous + line.this_period + line.materials_stored
        )
        assert line.balance_to_finish == line.scheduled_value - line.completed_and_stored
        assert ZERO <= line.completed_and_stored <= line.scheduled_value
        assert line.retainage >= ZERO
