"""Pay applications: create, edit, submit, review, finalize, pay and void.

Every function takes the caller's `role` on the commitment (resolved by the caller: a staff role
through access.commitment_for, or `contact` for the invoice contact already scoped to the
commitment) and checks the action against the transition table. Every change locks the
commitment row first, so two requests never bill from the same history, and writes one audit
event in the same transaction.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from paydraw.access import ADMIN_ONLY, EVERY_STAFF_ROLE, commitment_for
from paydraw.actors import Actor
from paydraw.audit import record
from paydraw.commitments import repository as commitments
from paydraw.db.tables import (
    AuditEvent,
    BillingPeriod,
    Commitment,
    CreditEntry,
    PayApp,
    PayAppLine,
    Payment,
    Project,
    utcnow,
)
from paydraw.display import money
from paydraw.domain.contract import OverbillingPolicy
from paydraw.domain.credit import PaymentStatus, apply_credit, check_payment, payment_status
from paydraw.domain.due import past_due
from paydraw.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    OverBilledLine,
    PermissionDenied,
)
from paydraw.domain.g702 import Application
from paydraw.domain.money import ZERO, require_within_largest, to_money
from paydraw.domain.overbilling import check_overbilling
from paydraw.domain.transitions import (
    PayAppAction,
    PayAppStatus,
    PeriodStatus,
    Role,
    SovStatus,
    allowed_actions,
    transition,
)
from paydraw.domain.waivers import WaiverStep
from paydraw.invitations.repository import invitation
from paydraw.invitations.service import due_date_of
from paydraw.pay_apps import certificate_pdf, computation, lien_waivers, notify, repository
from paydraw.pay_apps.entries import domain_draws, line_entries, rolled_over
from paydraw.pay_apps.notify import Links
from paydraw.pay_apps.public import actions_now, to_public
from paydraw.pay_apps.schemas import (
    CreditBalance,
    CreditCreate,
    PayAppCreate,
    PayAppDetailsEdit,
    PayAppKind,
    PayAppLinesEdit,
    PayAppPublic,
    PaymentCreate,
    PaymentMethod,
    Review,
    ReviewDecision,
    SelectedDraws,
)

DRAFT_LEFT_AT_CLOSE = "the billing period closed before the draft was submitted"
CAN_CREATE = frozenset({Role.ADMIN, Role.CONTACT})

Move = tuple[PayAppStatus | None, PayAppStatus | None]
"""From and to: None before a pay app is created and after a draft is deleted."""


@dataclass(frozen=True)
class Locked:
    """A pay app read after its commitment was locked, with the project whose rules apply."""

    pay_app: PayApp
    commitment: Commitment
    project: Project


def locate(
    session: Session,
    user_id: str,
    pay_app_id: str,
    allowed: frozenset[Role] = EVERY_STAFF_ROLE,
    action: str = "act",
) -> tuple[Role, repository.Located]:
    """The staff caller's role on the pay app's project, and the pay app's commitment, period
    and status, without pricing it: NotFound without a role there (as if it did not exist),
    PermissionDenied for a role not `allowed`."""
    located = repository.locate(session, pay_app_id, user_id)
    if located is None or located.role is None:
        raise NotFound(f"pay app {pay_app_id} not found")
    role = Role(located.role)
    if role not in allowed:
        raise PermissionDenied(f"a {role} may not {action}")
    return role, located


def get(session: Session, role: Role, pay_app_id: str) -> PayAppPublic:
    """The pay app with its G703 lines, G702 summary, payments and what `role` may do next."""
    pay_app = session.get(PayApp, pay_app_id)
    if pay_app is None:
        raise NotFound(f"pay app {pay_app_id} not found")
    commitment = session.get(Commitment, pay_app.commitment_id)
    assert commitment is not None
    return to_public(session, pay_app, computation.priced(session, commitment, pay_app), role)


def create(
    session: Session,
    actor: Actor,
    role: Role,
    commitment_id: str,
    period_id: str,
    request: PayAppCreate,
) -> PayAppPublic:
    """A draft pay app numbered after the commitment's last one."""
    if role not in CAN_CREATE:
        raise PermissionDenied(f"a {role} may not create pay apps")
    commitment = repository.lock_commitment(session, commitment_id)
    project = _project(session, commitment)
    period = _period(session, commitment, period_id)
    _require_billable(session, commitment, period, role, request)
    pay_app = PayApp(
        commitment_id=commitment.id,
        period_id=period.id,
        number=repository.next_number(session, commitment.id),
        kind=request.kind,
        entry_mode=request.entry_mode,
        notes=request.notes,
        due_terms=request.due_terms,
    )
    _insert(session, pay_app)
    locked = Locked(pay_app, commitment, project)
    priced, over_billed = _bill(session, locked, request)
    _audit(session, actor, locked, "create", (None, PayAppStatus.DRAFT), priced.app, over_billed)
    return to_public(session, pay_app, priced, role)


def preview(
    session: Session, commitment_id: str, period_id: str, request: PayAppLinesEdit
) -> Application:
    """What saving ``request`` as the period's progress pay app would bill, priced exactly as
    saving it prices it (the same history, roll-over and spread), with nothing written: the
    figures a contact sees while they type, over-billing refused as saving refuses it."""
    commitment = session.get(Commitment, commitment_id)
    if commitment is None:
        raise NotFound(f"commitment {commitment_id} not found")
    project = _project(session, commitment)
    live = repository.live_pay_app(session, commitment_id, period_id, PayAppKind.PROGRESS)
    number = live.number if live else repository.next_number(session, commitment_id)
    before = computation.before(session, commitment, number)
    entries = line_entries(
        before.contract,
        rolled_over(before.history, project.stored_materials_rollover),
        request.entry,
        request.retainage_release,
        domain_draws(commitments.draws(session, commitment.id), live.id if live else None),
    )
    app = before.compute(entries)
    policy = OverbillingPolicy(project.overbilling_policy)
    check_overbilling(before.contract, app, policy, request.overbilling_override_reason)
    return app


def edit_lines(
    session: Session, actor: Actor, role: Role, pay_app_id: str, request: PayAppLinesEdit
) -> PayAppPublic:
    """New amounts for a draft or a pay app sent back for revision; the invoice contact changes
    them only while the period is open and not past its due date, as for submitting them."""
    locked = _lock(session, pay_app_id)
    pay_app = locked.pay_app
    move = _allow(pay_app, PayAppAction.EDIT_LINES, role)
    if pay_app.period_id is not None:  # amounts the contact could no longer submit
        period = _period(session, locked.commitment, pay_app.period_id)
        _require_before_due(session, locked.commitment, period, role, PayAppAction.EDIT_LINES)
    if mismatch := request.kind_mismatch(PayAppKind(pay_app.kind)):
        raise InvalidInput(*mismatch)
    priced, over_billed = _bill(session, locked, request)
    pay_app.entry_mode = request.entry_mode
    _audit(session, actor, locked, PayAppAction.EDIT_LINES, move, priced.app, over_billed)
    return to_public(session, pay_app, priced, role)


def edit_details(
    session: Session, actor: Actor, role: Role, pay_app_id: str, request: PayAppDetailsEdit
) -> PayAppPublic:
    """Notes, due terms and attachments, editable until the pay app is finalized."""
    locked = _lock(session, pay_app_id)
    pay_app = locked.pay_app
    move = _allow(pay_app, PayAppAction.EDIT_DETAILS, role)
    changes = request.model_dump(mode="json", exclude_none=True)
    before = {field: getattr(pay_app, field) for field in changes}
    if changes != before:  # nothing changed is no change to audit
        for field, value in changes.items():
            setattr(pay_app, field, value)
        detail = {"from": before, "to": changes}
        _record(session, actor, locked, PayAppAction.EDIT_DETAILS, move, detail=detail)
    return _priced_public(session, locked, role)


def delete_draft(
    session: Session, actor: Actor, role: Role, pay_app_id: str, reason: str = ""
) -> None:
    """Remove a draft: what it billed is billable again, and so are the draws it selected."""
    locked = _lock(session, pay_app_id)
    pay_app = locked.pay_app
    move = _allow(pay_app, PayAppAction.DELETE, role)
    priced = computation.priced(session, locked.commitment, pay_app)
    released = repository.release_draws(session, pay_app.id)
    detail = computation.money_detail(priced.app) | {"draws_released": released}
    _record(session, actor, locked, PayAppAction.DELETE, move, reason=reason, detail=detail)
    repository.delete(session, pay_app)


def delete_drafts_of_closed_period(session: Session, actor: Actor, period_id: str) -> list[str]:
    """A period closed with drafts never submitted: nothing can submit them any more, so they
    go, and what they held back is billable in the next period. Returns the deleted ids."""
    drafts = repository.drafts_in_period(session, period_id)
    for pay_app_id in drafts:
        delete_draft(session, actor, Role.ADMIN, pay_app_id, reason=DRAFT_LEFT_AT_CLOSE)
    return drafts


def submit(
    session: Session, actor: Actor, role: Role, pay_app_id: str, *, links: Links
) -> PayAppPublic:
    """Send a draft for review."""
    return _submit(session, actor, role, pay_app_id, PayAppAction.SUBMIT, links)


def resubmit(
    session: Session, actor: Actor, role: Role, pay_app_id: str, *, links: Links
) -> PayAppPublic:
    """Send a revised pay app for review again; the last review's reasons are cleared."""
    return _submit(session, actor, role, pay_app_id, PayAppAction.RESUBMIT, links)


def _submit(
    session: Session, actor: Actor, role: Role, pay_app_id: str, action: PayAppAction, links: Links
) -> PayAppPublic:
    """The amounts as submitted are kept apart, so an approval as noted can show both."""
    locked = _lock(session, pay_app_id)
    pay_app = locked.pay_app
    move = _allow(pay_app, action, role)
    if pay_app.period_id is not None:
        period = _period(session, locked.commitment, pay_app.period_id)
        _require_before_due(session, locked.commitment, period, role, action)
    priced = computation.priced(session, locked.commitment, pay_app)
    over_billed = _check_overbilling(
        locked, priced.before, priced.app, pay_app.overbilling_override_reason
    )
    due = priced.app.summary.current_payment_due
    lien_waivers.require(session, locked.project, pay_app, due, WaiverStep.SUBMIT, action, role)
    for line in priced.lines.values():
        line.submitted_work = line.work_this_period
        line.submitted_stored = line.materials_stored
        line.approved, line.review_reason, line.review_note = None, "", ""
        session.add(line)
    pay_app.review_note = ""
    pay_app.submitted_at = utcnow()
    event = _audit(session, actor, locked, action, move, priced.app, over_billed)
    app = priced.app
    notify.submitted(session, links, locked.project, locked.commitment, pay_app, app, event.id)
    return to_public(session, pay_app, priced, role)


def review(
    session: Session, actor: Actor, role: Role, pay_app_id: str, request: Review, *, links: Links
) -> PayAppPublic:
    """Approve, approve as noted (adjusted amounts, each with a note), or send back to revise
    (with reasons, which the invoice contacts get by email)."""
    locked = _lock(session, pay_app_id)
    pay_app = locked.pay_app
    move = _allow(pay_app, PayAppAction(request.decision), role)
    stored = repository.lines(session, pay_app.id)
    before = computation.before(session, locked.commitment, pay_app.number)
    for index, line_review in enumerate(request.lines):
        if line_review.sov_line_id not in stored:
            raise InvalidInput(f"lines[{index}].sov_line_id", "not a line of this pay app")
    if request.decision == ReviewDecision.APPROVE_AS_NOTED:
        _adjust(locked, stored, before, request)
    app = before.compute(computation.stored_entries(stored))
    override = request.overbilling_override_reason or pay_app.overbilling_override_reason
    over_billed = []
    if request.decision != ReviewDecision.REVISE:
        over_billed = _check_overbilling(locked, before, app, override)
        pay_app.overbilling_override_reason = override if over_billed else ""
        pay_app.approved_at = utcnow()
    _note_review(session, stored, request)
    pay_app.review_note = request.note
    action = PayAppAction(request.decision)
    event = _audit(session, actor, locked, action, move, app, over_billed, reason=request.note)
    reviewed = [
        (line.code, line.description, stored[line.line_id])
        for line in app.lines
        if line.line_id in stored
    ]
    if request.decision == ReviewDecision.REVISE:
        notify.sent_back(
            session, links, locked.project, locked.commitment, pay_app, reviewed, event.id
        )
    if request.decision == ReviewDecision.APPROVE_AS_NOTED:
        notify.approved_as_noted(
            session, links, locked.project, locked.commitment, pay_app, app, reviewed, event.id
        )
    return to_public(session, pay_app, computation.Priced(before, stored, app), role)


def _adjust(
    locked: Locked, stored: dict[str, PayAppLine], before: computation.Before, request: Review
) -> None:
    """Apply the reviewer's amounts. A line not approved and given no amounts bills nothing new:
    no work, and the stored material the previous application left (if it rolls over)."""
    history = rolled_over(before.history, locked.project.stored_materials_rollover)
    for line_review in request.lines:
        line = stored[line_review.sov_line_id]
        if line_review.adjusted:
            if line_review.work_this_period is not None:
                line.work_this_period = line_review.work_this_period
            if line_review.materials_stored is not None:
                line.materials_stored = line_review.materials_stored
        elif not line_review.approved:
            past = history.get(line.sov_line_id)
            line.work_this_period = ZERO
            line.materials_stored = past.materials_stored if past else ZERO


def _note_review(session: Session, stored: dict[str, PayAppLine], request: Review) -> None:
    """Each line's verdict: a line the reviewer names keeps their words; under a revise, a line
    with a reason is the one sent back, and the others are left undecided."""
    reviews = {line.sov_line_id: line for line in request.lines}
    revise = request.decision == ReviewDecision.REVISE
    for sov_line_id, line in stored.items():
        line_review = reviews.get(sov_line_id)
        if line_review is None:
            line.approved = None if revise else True
        else:
            line.approved = line_review.approved and not line_review.reason.strip()
            line.review_reason = line_review.reason
            line.review_note = line_review.note
        session.add(line)


def finalize(
    session: Session, actor: Actor, role: Role, pay_app_id: str, *, links: Links
) -> PayAppPublic:
    """Lock the amounts and issue the G702 certificate: its figures are frozen as strings, line 7
    being line 6 of the last certificate, and each line's retainage held on work is stored; the
    G702/G703 document is frozen with them, for the workflow to print once."""
    locked = _lock(session, pay_app_id)
    pay_app = locked.pay_app
    move = _allow(pay_app, PayAppAction.FINALIZE, role)
    priced = computation.priced(session, locked.commitment, pay_app)
    stored, app = priced.lines, priced.app
    over_billed = _check_overbilling(
        locked, priced.before, app, pay_app.overbilling_override_reason
    )
    pay_app.certificate = computation.certificate(app.summary)
    pay_app.previous_certificates = app.summary.previous_certificates
    pay_app.total_earned_less_retainage = app.summary.total_earned_less_retainage
    pay_app.current_payment_due = app.summary.current_payment_due
    pay_app.finalized_at = utcnow()
    for line in app.lines:
        if line.line_id in stored:
            stored[line.line_id].retainage_held_work = line.retainage_work
            session.add(stored[line.line_id])
    settled = ""
    if app.summary.current_payment_due <= 0:
        move, settled = _settle(session, actor, locked, move)
    event = _audit(
        session, actor, locked, PayAppAction.FINALIZE, move, app, over_billed, settled=settled
    )
    document = certificate_pdf.document_of(
        session, pay_app, locked.commitment, locked.project, app, actor.label
    )
    certificate_pdf.freeze(session, document)
    notify.ready_for_payment(
        session, links, locked.project, locked.commitment, pay_app, event.id, settled
    )
    return to_public(session, pay_app, priced, role)


def _settle(session: Session, actor: Actor, locked: Locked, move: Move) -> tuple[Move, str]:
    """A certificate with nothing due is settled as it is issued: paid. Below zero the
    subcontractor was paid more than is now certified, and holds the difference: it becomes the
    commitment's credit balance, which later certificates draw on. The chain of certificates is
    left as it is, so cash plus applied credit always equals what was certified."""
    pay_app = locked.pay_app
    due = pay_app.current_payment_due
    pay_app.payment_status = PaymentStatus.PAID
    if due == 0:
        return (move[0], PayAppStatus.PAID), "nothing due"
    session.add(
        CreditEntry(
            commitment_id=pay_app.commitment_id,
            amount=-due,
            pay_app_id=pay_app.id,
            memo=f"paid beyond certificate #{pay_app.number}",
            created_by=actor.label,
        )
    )
    session.flush()
    require_within_largest(
        commitments.credit_balance(session, pay_app.commitment_id), "amount", "the credit balance"
    )
    overpaid = money(-due, locked.project.currency)
    return (move[0], PayAppStatus.PAID), f"{overpaid} already paid is added to the credit balance"


def record_payment(
    session: Session,
    actor: Actor,
    role: Role,
    pay_app_id: str,
    request: PaymentCreate,
    *,
    links: Links,
) -> PayAppPublic:
    """A payment against the certificate's current payment due, never beyond what is left of it;
    paid from the credit balance, it draws that balance down. The payment that completes it
    makes the pay app paid."""
    locked = _lock(session, pay_app_id)
    pay_app = locked.pay_app
    paid = sum((payment.amount for payment in repository.payments(session, pay_app.id)), ZERO)
    due = pay_app.current_payment_due
    action = PayAppAction.PAY_IN_FULL if paid + request.amount >= due else PayAppAction.PAY_PART
    move = _allow(pay_app, action, role)
    check_payment(due, paid, request.amount)
    lien_waivers.require(session, locked.project, pay_app, due, WaiverStep.PAYMENT, action, role)
    if request.method == PaymentMethod.CREDIT_BALANCE:
        _apply_credit(session, actor, pay_app, request.amount, due - paid)
    payment = Payment(
        pay_app_id=pay_app.id,
        amount=request.amount,
        method=request.method,
        reference=request.reference,
        paid_on=request.paid_on,
        created_by=actor.label,
    )
    session.add(payment)
    session.flush()
    pay_app.payment_status = payment_status(due, paid + request.amount)
    detail = request.model_dump(mode="json") | {
        "paid_to_date": f"{paid + request.amount:.2f}",
        "remaining_due": f"{due - paid - request.amount:.2f}",
        "payment_status": pay_app.payment_status,
    }
    _record(session, actor, locked, action, move, detail=detail)
    paid_to_date = paid + request.amount
    notify.payment_recorded(
        session,
        links,
        locked.project,
        locked.commitment,
        pay_app,
        payment,
        paid_to_date,
        max(ZERO, due - paid_to_date),
    )
    return _priced_public(session, locked, role)


def _apply_credit(
    session: Session, actor: Actor, pay_app: PayApp, amount: Decimal, remaining: Decimal
) -> None:
    """Draw the payment from the commitment's credit balance, which never goes negative."""
    balance = commitments.credit_balance(session, pay_app.commitment_id)
    apply_credit(balance, remaining, amount)
    session.add(
        CreditEntry(
            commitment_id=pay_app.commitment_id,
            amount=-amount,
            pay_app_id=pay_app.id,
            memo=f"applied to pay app #{pay_app.number}",
            created_by=actor.label,
        )
    )


def actions_now_of(session: Session, pay_app_id: str) -> tuple[str, list[str]]:
    """The pay app's status and what may be done to it now, by any role: the list a wrong-state
    refusal names, to a caller the refusal was already scoped to."""
    pay_app = session.get(PayApp, pay_app_id)
    if pay_app is None:
        raise NotFound(f"pay app {pay_app_id} not found")
    return pay_app.status, actions_now(session, pay_app, None)


def void(session: Session, actor: Actor, role: Role, pay_app_id: str, reason: str) -> PayAppPublic:
    """Void an approved or finalized pay app that has no payment: its amounts are billable again,
    its draws too, and the period and kind can be invoiced anew."""
    locked = _lock(session, pay_app_id)
    pay_app = locked.pay_app
    move = _allow(pay_app, PayAppAction.VOID, role)
    status = PayAppStatus(pay_app.status)
    if pay_app.payment_status != "unpaid":
        raise InvalidTransition(
            status,
            PayAppAction.VOID,
            actions_now(session, pay_app, None),
            message=f"pay app #{pay_app.number} is {pay_app.payment_status}: a pay app with "
            "payments cannot be voided",
        )
    if (later := repository.later_pay_app(session, pay_app)) is not None:
        raise InvalidTransition(
            status,
            PayAppAction.VOID,
            actions_now(session, pay_app, None),
            message=f"pay app #{later.number} was billed after it; void or delete that one first",
        )
    if not reason.strip():
        raise InvalidInput("reason", "say why the pay app is void")
    priced = computation.priced(session, locked.commitment, pay_app)
    released = repository.release_draws(session, pay_app.id)
    pay_app.void_reason = reason
    pay_app.voided_at = utcnow()
    detail = computation.money_detail(priced.app) | {"draws_released": released}
    _record(session, actor, locked, PayAppAction.VOID, move, reason=reason, detail=detail)
    return to_public(session, pay_app, priced, role)


def credit(
    session: Session, actor: Actor, commitment_id: str, request: CreditCreate
) -> CreditBalance:
    """A deposit or advance on a commitment the caller administers (the API's and the page's)."""
    _, _, role = commitment_for(session, actor.id, commitment_id, ADMIN_ONLY, "add credit")
    return add_credit(session, actor, role, commitment_id, request.amount, request.memo)


def add_credit(
    session: Session, actor: Actor, role: Role, commitment_id: str, amount: Decimal, memo: str
) -> CreditBalance:
    """A deposit or advance on the commitment, applied later as a credit_balance payment."""
    if role != Role.ADMIN:
        raise PermissionDenied(f"a {role} may not add credit")
    if amount <= 0:
        raise InvalidInput("amount", "must be more than 0.00")
    commitment = repository.lock_commitment(session, commitment_id)
    session.add(
        CreditEntry(
            commitment_id=commitment.id, amount=to_money(amount), memo=memo, created_by=actor.label
        )
    )
    session.flush()
    balance = commitments.credit_balance(session, commitment.id)
    require_within_largest(balance, "amount", "the credit balance")
    record(
        session,
        actor,
        entity_type="commitment",
        entity_id=commitment.id,
        action="add_credit",
        project_id=commitment.project_id,
        reason=memo,
        detail={"amount": f"{to_money(amount):.2f}", "credit_balance": f"{balance:.2f}"},
    )
    return CreditBalance(commitment_id=commitment.id, credit_balance=balance)


# -- the steps every change shares --------------------------------------------------------------


def _lock(session: Session, pay_app_id: str) -> Locked:
    """Lock the pay app's commitment, then read the pay app as it stands after any change that
    held the lock before us."""
    locked = repository.lock_commitment_of(session, pay_app_id)
    pay_app = repository.fresh(session, pay_app_id) if locked else None
    if locked is None or pay_app is None:
        raise NotFound(f"pay app {pay_app_id} not found")
    commitment, project = locked
    return Locked(pay_app, commitment, project)


def _priced_public(session: Session, locked: Locked, role: Role) -> PayAppPublic:
    """The answer of a step that changed no amount: the pay app priced as it stands."""
    priced = computation.priced(session, locked.commitment, locked.pay_app)
    return to_public(session, locked.pay_app, priced, role)


def _allow(pay_app: PayApp, action: PayAppAction, role: Role) -> Move:
    """The pay app's status and the one `action` takes it to, if `role` may do it now."""
    status = PayAppStatus(pay_app.status)
    return status, transition(status, action, role)


def _project(session: Session, commitment: Commitment) -> Project:
    project = session.get(Project, commitment.project_id)
    assert project is not None
    return project


def _period(session: Session, commitment: Commitment, period_id: str) -> BillingPeriod:
    period = session.get(BillingPeriod, period_id)
    if period is None or period.project_id != commitment.project_id:
        raise NotFound(f"billing period {period_id} not found")
    return period


def _require_billable(
    session: Session,
    commitment: Commitment,
    period: BillingPeriod,
    role: Role,
    request: PayAppCreate,
) -> None:
    """A pay app needs an approved SOV, a free slot for its period and kind, and no earlier pay
    app still on its way to a certificate (certificates are issued in number order, so line 7
    is always the certificate before)."""
    if commitment.sov_status != SovStatus.APPROVED:
        raise InvalidTransition(
            commitment.sov_status,
            "create",
            ["approve_sov"],
            message="the schedule of values is not approved yet; approve it before billing",
        )
    existing = repository.live_pay_app(session, commitment.id, period.id, request.kind)
    if existing is not None:
        raise _already_billed(existing, role)
    unfinished = repository.unfinished_pay_app(session, commitment.id)
    if unfinished is not None:
        raise InvalidTransition(
            unfinished.status,
            "create",
            allowed_actions(PayAppStatus(unfinished.status), role),
            message=f"pay app #{unfinished.number} is still {unfinished.status}; finalize, void "
            "or delete it before the next one",
        )
    _require_before_due(session, commitment, period, role, "create")


def _already_billed(existing: PayApp, role: Role) -> InvalidTransition:
    return InvalidTransition(
        existing.status,
        "create",
        allowed_actions(PayAppStatus(existing.status), role),
        message=f"pay app #{existing.number} already bills this period as {existing.kind} and "
        f"is {existing.status}; only a void one can be invoiced again",
    )


def _require_before_due(
    session: Session, commitment: Commitment, period: BillingPeriod, role: Role, action: str
) -> None:
    """The invoice contact bills only in an open period, until its due date (or the date the
    admin extended it to); an admin may always bill on the contact's behalf."""
    if role != Role.CONTACT:
        return
    due = due_date_of(period, invitation(session, period.id, commitment.id))
    if period.status != PeriodStatus.OPEN:
        problem = "the billing period is closed"
    elif past_due(due, utcnow()):
        problem = f"the billing period was due {due}"
    else:
        return
    raise InvalidTransition(
        period.status,
        action,
        [],
        subject="a billing period",
        message=f"{problem}; ask the billing team to extend it or to bill on your behalf",
    )


def _insert(session: Session, pay_app: PayApp) -> None:
    """Add the pay app; the database's unique index is the last word when requests race."""
    try:
        with session.begin_nested():
            session.add(pay_app)
    except IntegrityError:
        assert pay_app.period_id is not None
        existing = repository.live_pay_app(
            session, pay_app.commitment_id, pay_app.period_id, pay_app.kind
        )
        if existing is None:
            raise
        raise _already_billed(existing, Role.ADMIN) from None


def _bill(
    session: Session, locked: Locked, request: PayAppLinesEdit
) -> tuple[computation.Priced, list[OverBilledLine]]:
    """Compute what `request` bills on each line, refuse over-billing as the project's policy
    says, then store the lines and mark the selected draws billed."""
    pay_app, commitment, project = locked.pay_app, locked.commitment, locked.project
    before = computation.before(session, commitment, pay_app.number)
    draws = commitments.draws(session, commitment.id)
    entries = line_entries(
        before.contract,
        rolled_over(before.history, project.stored_materials_rollover),
        request.entry,
        request.retainage_release,
        domain_draws(draws, pay_app.id),
    )
    app = before.compute(entries)
    over_billed = _check_overbilling(locked, before, app, request.overbilling_override_reason)
    pay_app.overbilling_override_reason = request.overbilling_override_reason if over_billed else ""
    lines = repository.save_entries(session, pay_app.id, entries)
    selected = request.entry.draw_ids if isinstance(request.entry, SelectedDraws) else []
    repository.rebill_draws(session, draws, pay_app.id, selected)
    return computation.Priced(before, lines, app), over_billed


def _check_overbilling(
    locked: Locked, before: computation.Before, app: Application, override_reason: str
) -> list[OverBilledLine]:
    policy = OverbillingPolicy(locked.project.overbilling_policy)
    return check_overbilling(before.contract, app, policy, override_reason)


def _audit(
    session: Session,
    actor: Actor,
    locked: Locked,
    action: str,
    move: Move,
    app: Application,
    over_billed: list[OverBilledLine],
    reason: str = "",
    settled: str = "",
) -> AuditEvent:
    """A change to the money: the G702 figures, each line, any over-billing let through with
    the override reason that allowed it, and how a certificate with nothing due was settled."""
    detail = computation.money_detail(app)
    if settled:
        detail["settled"] = settled
    if over_billed:
        override = locked.pay_app.overbilling_override_reason
        detail["overbilling_override"] = {
            "reason": override,
            "lines": [
                {
                    "code": line.code,
                    "billed_to_date": f"{line.billed_to_date:.2f}",
                    "scheduled_value": f"{line.scheduled_value:.2f}",
                    "billable": f"{line.billable:.2f}",
                }
                for line in over_billed
            ],
        }
        reason = reason or override
    return _record(session, actor, locked, action, move, reason=reason, detail=detail)


def _record(
    session: Session,
    actor: Actor,
    locked: Locked,
    action: str,
    move: Move,
    *,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Move the pay app to its new status with the change's one audit event."""
    from_status, to_status = move
    pay_app = locked.pay_app
    if to_status is not None:
        pay_app.status = to_status
        session.add(pay_app)
    return record(
        session,
        actor,
        entity_type="pay_app",
        entity_id=pay_app.id,
        action=action,
        project_id=locked.project.id,
        from_state=from_status,
        to_state=to_status,
        reason=reason,
        detail={"number": pay_app.number, "kind": pay_app.kind, **(detail or {})},
    )
