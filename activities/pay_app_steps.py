"""How a pay-app step from the commitment's workflow becomes a call to the pay-app service."""

from sqlalchemy import Table
from sqlmodel import Session, col, select

from emails.outbox import queued_ids
from paydraw.actors import Actor
from paydraw.db.statements import insert_unless_taken
from paydraw.db.tables import IdempotencyRecord, PayApp, new_id, utcnow
from paydraw.domain.errors import InvalidInput
from paydraw.domain.transitions import PayAppAction, PayAppStatus, Role
from paydraw.pay_apps import service
from paydraw.pay_apps.notify import Links
from paydraw.pay_apps.schemas import PayAppPublic
from workflows.messages import (
    CreateStep,
    DetailsStep,
    LinesStep,
    PayAppStep,
    PaymentStep,
    PlainStep,
    ReviewStep,
    VoidStep,
)

STEP_PRINCIPAL = "workflow-step"
RECORDS: Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
record_id = new_id("idm")


def mark_step_applied(session: Session, step_id: str) -> bool:
    """Record the step in the caller's transaction; False if an earlier attempt committed it.

    One statement: the row is inserted unless the step's key is taken. Two attempts at once
    (Temporal starts another only once one timed out) meet on the unique key, and the later one
    inserts nothing once the first has committed.
    """
    if not step_id:
        return True
    mark = insert_unless_taken(session, RECORDS, ("principal", "key"), RECORDS.c.id)
    row = {
        "id": record_id(),
        "principal": STEP_PRINCIPAL,
        "key": step_id,
        "fingerprint": "",
        "state": "done",
        "created_at": utcnow(),
    }
    inserted = session.execute(mark, row)
    return inserted.first() is not None


def apply(
    session: Session, actor: Actor, role: Role, step: PayAppStep, links: Links
) -> PayAppPublic | None:
    """Run the step's service function; None after a draft is deleted."""
    if isinstance(step, CreateStep):
        return service.create(session, actor, role, step.commitment_id, step.period_id, step.create)
    pay_app_id = step.pay_app_id
    if pay_app_id is None:
        raise InvalidInput("pay_app_id", f"a {step.action} step names no pay app")
    match step:
        case LinesStep():
            return service.edit_lines(session, actor, role, pay_app_id, step.lines)
        case DetailsStep():
            return service.edit_details(session, actor, role, pay_app_id, step.details)
        case ReviewStep():
            return service.review(session, actor, role, pay_app_id, step.review, links=links)
        case PaymentStep():
            return service.record_payment(
                session, actor, role, pay_app_id, step.payment, links=links
            )
        case VoidStep():
            return service.void(session, actor, role, pay_app_id, step.reason)
        case PlainStep(action=PayAppAction.DELETE):
            service.delete_draft(session, actor, role, pay_app_id)
            return None
        case PlainStep(action=PayAppAction.SUBMIT):
            return service.submit(session, actor, role, pay_app_id, links=links)
        case PlainStep(action=PayAppAction.RESUBMIT):
            return service.resubmit(session, actor, role, pay_app_id, links=links)
        case PlainStep(action=PayAppAction.FINALIZE):
            return service.finalize(session, actor, role, pay_app_id, links=links)
    raise InvalidInput("action", f"unknown pay app action {step.action}")


def queued_emails(session: Session) -> list[str]:
    """The emails the step applied in this transaction queued, for its workflow to deliver.
    (Those of earlier steps are already in the workflow's hands.)"""
    return queued_ids(session)


def current(session: Session, role: Role, pay_app_id: str) -> PayAppPublic | None:
    """The pay app as it is now (None if it was a draft that is gone)."""
    if session.get(PayApp, pay_app_id) is None:
        return None
    return service.get(session, role, pay_app_id)


def created_by(session: Session, role: Role, step: CreateStep) -> PayAppPublic | None:
    """On a retried create: the live pay app of that kind the first attempt made."""
    query = select(PayApp).where(
        PayApp.commitment_id == step.commitment_id,
        PayApp.period_id == step.period_id,
        PayApp.kind == step.create.kind,
        PayApp.status != PayAppStatus.VOID,
    )
    pay_app = session.exec(query.order_by(col(PayApp.number).desc())).first()
    return service.get(session, role, pay_app.id) if pay_app else None
