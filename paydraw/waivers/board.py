"""The board's marker: which commitments' pay apps in a period still lack a required lien
waiver for their next step."""

from decimal import Decimal

from sqlmodel import Session

from paydraw.db.tables import Project
from paydraw.domain.transitions import PayAppStatus
from paydraw.domain.waivers import PaidPayApp, WaiverStep, waivers_needed
from paydraw.waivers import repository


def missing_on_board(session: Session, project_id: str, period_id: str) -> dict[str, list[str]]:
    """The waivers each commitment's pay app in the period still lacks for its next step, by
    commitment, from one query (none when the project requires none). A conditional waiver is
    taken as signed here when one is signed for the pay app at all: a draft's amount is priced
    only when it is opened or submitted, where a waiver for other amounts is refused."""
    project = session.get(Project, project_id)
    required = project.required_lien_waivers if project else []
    if project is None or not required:
        return {}
    open_pay_apps, paid, signed_amounts, signed_kinds, waived = [], [], set(), set(), set()
    for tag, commitment_id, pay_app_id, number, kind, status, amount in repository.board_facts(
        session, project.id, period_id
    ):
        if tag == "open":
            open_pay_apps.append((commitment_id, pay_app_id, number, kind, status, amount))
        elif tag == "paid":
            paid.append((commitment_id, number, pay_app_id, amount))
        elif tag == "signed":
            signed_amounts.add((pay_app_id, kind, amount))
            signed_kinds.add((pay_app_id, kind))
        else:
            waived.add((pay_app_id, kind))
    missing: dict[str, list[str]] = {}
    for commitment_id, pay_app_id, number, kind, status, amount_due in open_pay_apps:
        before_submit = status in (PayAppStatus.DRAFT, PayAppStatus.REVISE_AND_RESUBMIT)
        earlier = [row for row in paid if row[0] == commitment_id and row[1] < number]
        previous = max(earlier, key=lambda row: row[1]) if earlier else None
        needs = waivers_needed(
            required,
            pay_app_id=pay_app_id,
            number=number,
            kind=kind,
            amount_due=amount_due,
            previous_paid=_paid(previous),
        )
        for need in needs:
            if need.before == WaiverStep.SUBMIT and not before_submit:
                continue  # submitted: its conditional waiver was settled then
            met = (pay_app_id, need.kind) in waived or (
                (need.covers_pay_app_id, need.kind) in signed_kinds
                if need.before == WaiverStep.SUBMIT
                else (need.covers_pay_app_id, need.kind, need.amount) in signed_amounts
            )
            if not met:
                missing.setdefault(commitment_id, []).append(need.kind)
    return missing


def _paid(row: tuple[str, int, str, Decimal] | None) -> PaidPayApp | None:
    return PaidPayApp(row[2], row[1], row[3]) if row else None
