"""Which lien waivers a pay app needs, by the project's required kinds."""

from decimal import Decimal

from paydraw.domain.waivers import (
    PaidPayApp,
    WaiverKind,
    WaiverNeed,
    WaiverStep,
    is_met,
    waivers_needed,
)

ALL = list(WaiverKind)
PREVIOUS = PaidPayApp("pap_1", 1, Decimal("26100.00"))


def needs_of(
    kind: str, required: list[WaiverKind], previous: PaidPayApp | None = PREVIOUS
) -> list[WaiverNeed]:
    return waivers_needed(
        required,
        pay_app_id="pap_2",
        number=2,
        kind=kind,
        amount_due=Decimal("31950.00"),
        previous_paid=previous,
    )


class TestWaiversNeeded:
    def test_none_required_needs_nothing(self) -> None:
        assert needs_of("progress", []) == []

    def test_a_progress_pay_app_needs_its_conditional_and_the_previous_payments_unconditional(
        self,
    ) -> None:
        conditional, unconditional = needs_of("progress", ALL)
        assert (conditional.kind, conditional.amount, conditional.before) == (
            WaiverKind.CONDITIONAL_PROGRESS,
            Decimal("31950.00"),
            WaiverStep.SUBMIT,
        )
        assert (unconditional.covers_pay_app_id, unconditional.amount, unconditional.before) == (
            "pap_1",
            Decimal("26100.00"),
            WaiverStep.PAYMENT,
        )

    def test_the_first_payment_has_no_previous_one_to_waive(self) -> None:
        assert [need.kind for need in needs_of("progress", ALL, previous=None)] == [
            WaiverKind.CONDITIONAL_PROGRESS
        ]

    def test_a_retainage_release_needs_the_final_waivers(self) -> None:
        kinds = [need.kind for need in needs_of("retainage_release", ALL, previous=None)]
        assert kinds == [WaiverKind.CONDITIONAL_FINAL, WaiverKind.UNCONDITIONAL_FINAL]


class TestMet:
    def test_signed_for_another_amount_is_not_met_but_waived_is(self) -> None:
        [need] = needs_of("progress", [WaiverKind.CONDITIONAL_PROGRESS])
        other = {("pap_2", "conditional_progress", Decimal("30000.00"))}
        exact = {("pap_2", "conditional_progress", Decimal("31950.00"))}
        assert not is_met(need, other, set())
        assert is_met(need, exact, set())
        assert is_met(need, set(), {"conditional_progress"})
