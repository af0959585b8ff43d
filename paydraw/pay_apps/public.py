"""The pay app as clients see it: G703 lines, the G702 summary, payments and the next actions."""

from decimal import Decimal

from sqlmodel import Session

from paydraw.commitments.schemas import G702Summary
from paydraw.db.tables import PayApp, PayAppLine
from paydraw.domain.credit import PaymentStatus
from paydraw.domain.g702 import G703Line
from paydraw.domain.money import ZERO
from paydraw.domain.transitions import (
    PayAppAction,
    PayAppStatus,
    Role,
    allowed_actions,
    pay_app_actions,
)
from paydraw.pay_apps import repository
from paydraw.pay_apps.computation import Priced, certificate
from paydraw.pay_apps.schemas import (
    Attachment,
    EntryMode,
    PayAppKind,
    PayAppLinePublic,
    PayAppPublic,
    PaymentMethod,
    PaymentPublic,
)


def to_public(session: Session, pay_app: PayApp, priced: Priced, role: Role) -> PayAppPublic:
    """Lines are always computed from the ledger (`priced`, as the step left the pay app); the
    summary of a finalized pay app is its frozen certificate, anyone else's is computed live."""
    stored, app = priced.lines, priced.app
    summary = pay_app.certificate or certificate(app.summary)
    # A payment needs a certificate, so a pay app without one has none to look up.
    payments = repository.payments(session, pay_app.id) if pay_app.certificate else []
    paid = sum((payment.amount for payment in payments), ZERO)
    status = PayAppStatus(pay_app.status)
    return PayAppPublic(
        id=pay_app.id,
        number=pay_app.number,
        kind=PayAppKind(pay_app.kind),
        status=status,
        payment_status=PaymentStatus(pay_app.payment_status),
        commitment_id=pay_app.commitment_id,
        period_id=pay_app.period_id,
        entry_mode=EntryMode(pay_app.entry_mode),
        notes=pay_app.notes,
        due_terms=pay_app.due_terms,
        attachments=[Attachment(**attachment) for attachment in pay_app.attachments],
        lines=[_line(line, stored.get(line.line_id)) for line in app.lines],
        summary=G702Summary(**{figure: Decimal(amount) for figure, amount in summary.items()}),
        certificate_issued=pay_app.certificate is not None,
        payments=[
            PaymentPublic(
                id=payment.id,
                amount=payment.amount,
                method=PaymentMethod(payment.method),
                reference=payment.reference,
                paid_on=payment.paid_on,
                created_at=payment.created_at,
            )
            for payment in payments
        ],
        paid_to_date=paid,
        remaining_due=remaining_due(pay_app, paid),
        overbilling_override_reason=pay_app.overbilling_override_reason,
        review_note=pay_app.review_note,
        void_reason=pay_app.void_reason,
        created_at=pay_app.created_at,
        submitted_at=pay_app.submitted_at,
        approved_at=pay_app.approved_at,
        finalized_at=pay_app.finalized_at,
        voided_at=pay_app.voided_at,
        allowed_actions=actions_now(session, pay_app, role),
    )


def actions_now(session: Session, pay_app: PayApp, role: Role | None) -> list[str]:
    """The pay app's allowed actions for `role` (anyone, for None), given its payments and the
    pay apps after it."""
    status = PayAppStatus(pay_app.status)
    voidable = PayAppAction.VOID in allowed_actions(status, role)
    return pay_app_actions(
        status,
        role,
        has_payments=pay_app.payment_status != PaymentStatus.UNPAID,
        billed_after=voidable and repository.later_pay_app(session, pay_app) is not None,
    )


def remaining_due(pay_app: PayApp, paid: Decimal) -> Decimal:
    """What the certificate still asks to be paid; nothing is due before the certificate."""
    if pay_app.certificate is None or pay_app.status == PayAppStatus.VOID:
        return ZERO
    return max(ZERO, pay_app.current_payment_due - paid)


def _line(line: G703Line, stored: PayAppLine | None) -> PayAppLinePublic:
    return PayAppLinePublic(
        sov_line_id=line.line_id,
        code=line.code,
        description=line.description,
        scheduled_value=line.scheduled_value,
        from_previous=line.from_previous,
        this_period=line.this_period,
        materials_stored=line.materials_stored,
        completed_and_stored=line.completed_and_stored,
        percent_complete=line.percent_complete,
        balance_to_finish=line.balance_to_finish,
        retainage=line.retainage,
        retainage_released=line.retainage_released,
        billable_before=line.billable_before,
        submitted_work=stored.submitted_work if stored else None,
        submitted_stored=stored.submitted_stored if stored else None,
        approved=stored.approved if stored else None,
        review_reason=stored.review_reason if stored else "",
        review_note=stored.review_note if stored else "",
    )
