"""Lien waivers: which ones a pay app needs, and before which step.

A project requires any of four kinds. The conditional waiver of a pay app goes with its
submission (progress for a progress bill, final for a retainage release), for the amount it asks
(line 8). The unconditional progress waiver covers a payment received: the one for the previous
pay app that was paid is needed before the next payment is recorded. The unconditional final
waiver goes with the payment of the retainage release, for its certified amount. An admin may
waive one requirement for one pay app; a waived or signed requirement is met.
"""

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class WaiverKind(StrEnum):
    CONDITIONAL_PROGRESS = "conditional_progress"
    UNCONDITIONAL_PROGRESS = "unconditional_progress"
    CONDITIONAL_FINAL = "conditional_final"
    UNCONDITIONAL_FINAL = "unconditional_final"


class WaiverStep(StrEnum):
    """The pay-app step a missing waiver refuses."""

    SUBMIT = "submit"
    PAYMENT = "payment"


WAIVER_TITLES = {
    WaiverKind.CONDITIONAL_PROGRESS: "Conditional waiver and release on progress payment",
    WaiverKind.UNCONDITIONAL_PROGRESS: "Unconditional waiver and release on progress payment",
    WaiverKind.CONDITIONAL_FINAL: "Conditional waiver and release on final payment",
    WaiverKind.UNCONDITIONAL_FINAL: "Unconditional waiver and release on final payment",
}

RETAINAGE_RELEASE = "retainage_release"


@dataclass(frozen=True)
class PaidPayApp:
    """An earlier pay app of the commitment that received money: its id, number, and how much."""

    id: str
    number: int
    paid: Decimal


@dataclass(frozen=True)
class WaiverNeed:
    """One waiver a pay app needs: its kind, the pay app it covers (this one, or the previous
    one paid), for how much, and the step of this pay app it must be signed before."""

    kind: WaiverKind
    covers_pay_app_id: str
    covers_number: int
    amount: Decimal
    before: WaiverStep


def waivers_needed(
    required: Collection[str],
    *,
    pay_app_id: str,
    number: int,
    kind: str,
    amount_due: Decimal,
    previous_paid: PaidPayApp | None,
) -> list[WaiverNeed]:
    """What the project's `required` kinds ask of a pay app whose line 8 is `amount_due`;
    `previous_paid` is the last pay app before it that received money (None if none did)."""
    final = kind == RETAINAGE_RELEASE
    needs = []
    conditional = WaiverKind.CONDITIONAL_FINAL if final else WaiverKind.CONDITIONAL_PROGRESS
    if conditional in required:
        needs.append(WaiverNeed(conditional, pay_app_id, number, amount_due, WaiverStep.SUBMIT))
    if WaiverKind.UNCONDITIONAL_PROGRESS in required and previous_paid is not None:
        needs.append(
            WaiverNeed(
                WaiverKind.UNCONDITIONAL_PROGRESS,
                previous_paid.id,
                previous_paid.number,
                previous_paid.paid,
                WaiverStep.PAYMENT,
            )
        )
    if final and WaiverKind.UNCONDITIONAL_FINAL in required:
        needs.append(
            WaiverNeed(
                WaiverKind.UNCONDITIONAL_FINAL, pay_app_id, number, amount_due, WaiverStep.PAYMENT
            )
        )
    return needs


def is_met(
    need: WaiverNeed,
    signed: Collection[tuple[str, str, Decimal]],
    waived: Collection[str],
) -> bool:
    """Signed for the pay app it covers and for exactly its amount, or waived by an admin.
    `signed` holds (pay app id, kind, amount) of the signed waivers; `waived` the kinds an admin
    waived for the pay app that needs them."""
    return need.kind in waived or (need.covers_pay_app_id, need.kind, need.amount) in signed


def describe(need: WaiverNeed, amount_text: str) -> str:
    """``the conditional progress waiver for pay app #2 ($31,950.00)``"""
    words = need.kind.replace("_", " ")
    return f"the {words} waiver for pay app #{need.covers_number} ({amount_text})"
