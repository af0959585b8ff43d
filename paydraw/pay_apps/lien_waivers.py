"""The lien waivers a pay app needs, read from the database, and the refusal of a step that
goes ahead without them. The rule itself is the domain core's (paydraw.domain.waivers); the
waivers area (paydraw/waivers) drafts, signs and lists them from the same `needs`."""

from decimal import Decimal

from sqlmodel import Session

from paydraw.db.tables import PayApp, Project
from paydraw.display import money
from paydraw.domain.errors import LienWaiversMissing, MissingWaiver
from paydraw.domain.transitions import PayAppAction, PayAppStatus, Role, allowed_actions
from paydraw.domain.waivers import WaiverNeed, WaiverStep, describe, is_met, waivers_needed
from paydraw.pay_apps import repository


def needs(
    session: Session, project: Project, pay_app: PayApp, amount_due: Decimal
) -> list[WaiverNeed]:
    """What the project requires of `pay_app`, whose line 8 is `amount_due`. No query at all
    when the project requires no waiver."""
    if not project.required_lien_waivers:
        return []
    return waivers_needed(
        project.required_lien_waivers,
        pay_app_id=pay_app.id,
        number=pay_app.number,
        kind=pay_app.kind,
        amount_due=amount_due,
        previous_paid=repository.previous_paid(session, pay_app.commitment_id, pay_app.number),
    )


def unmet(session: Session, pay_app: PayApp, wanted: list[WaiverNeed]) -> list[WaiverNeed]:
    """The needs neither signed (for their exact amount) nor waived for `pay_app`."""
    if not wanted:
        return []
    signed = repository.signed_waivers(session, {need.covers_pay_app_id for need in wanted})
    waived = repository.waived_kinds(session, pay_app.id)
    return [need for need in wanted if not is_met(need, signed, waived)]


def require(
    session: Session,
    project: Project,
    pay_app: PayApp,
    amount_due: Decimal,
    step: WaiverStep,
    action: PayAppAction,
    role: Role,
) -> None:
    """Refuse `action` (409) while a waiver required before `step` is neither signed nor
    waived, naming each one missing."""
    before_step = [
        need for need in needs(session, project, pay_app, amount_due) if need.before == step
    ]
    missing = unmet(session, pay_app, before_step)
    if not missing:
        return
    named = "; ".join(describe(need, money(need.amount, project.currency)) for need in missing)
    status = PayAppStatus(pay_app.status)
    raise LienWaiversMissing(
        status,
        action,
        [allowed for allowed in allowed_actions(status, role) if allowed != action],
        message=f"cannot {_doing(step, action)} pay app #{pay_app.number} without {named}: the "
        "invoice contact signs it on their page, or an admin waives it for this pay app with a "
        "reason",
        missing=[
            MissingWaiver(
                kind=need.kind,
                pay_app_id=need.covers_pay_app_id,
                pay_app_number=need.covers_number,
                amount=need.amount,
            )
            for need in missing
        ],
    )


def _doing(step: WaiverStep, action: PayAppAction) -> str:
    return "record a payment on" if step == WaiverStep.PAYMENT else str(action)
