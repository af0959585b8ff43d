"""The emails a pay app's steps queue, inside the same transaction as the step itself.

Each dedupe key carries the id of the step's audit event, so a second submission of the same pay
app is a second email, while a retried step is not. The ids of the emails queued are noted in the
session (`queued`), so the step can hand them to its workflow without searching the outbox.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from emails.outbox import enqueue
from emails.render import EmailKind
from paydraw.commitments import repository as commitments
from paydraw.db.tables import BillingPeriod, Commitment, PayApp, PayAppLine, Payment, Project
from paydraw.display import money
from paydraw.domain.g702 import Application
from paydraw.domain.transitions import Role
from paydraw.invitations.tokens import ContactClaim, link
from paydraw.projects.repository import emails_with_role
from paydraw.settings import Settings

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Links:
    """Where the emails point: an invoice contact gets a signed link to their own page (as in the
    invite), staff the pay app's page (which asks them to sign in first)."""

    settings: Settings

    def contact_page(self, pay_app: PayApp, email: str) -> str:
        assert pay_app.period_id is not None
        return link(self.settings, ContactClaim(pay_app.commitment_id, pay_app.period_id, email))

    def staff_page(self, pay_app: PayApp) -> str:
        return f"{self.settings.resolved_public_url}/pay-apps/{pay_app.id}"


def submitted(
    session: Session,
    links: Links,
    project: Project,
    commitment: Commitment,
    pay_app: PayApp,
    app: Application,
    event_id: str,
) -> None:
    """Tell the project's reviewers; a project without reviewers is reviewed by its admins."""
    reviewers = emails_with_role(session, project.id, Role.REVIEWER) or emails_with_role(
        session, project.id, Role.ADMIN
    )
    context = {
        "total_completed_and_stored": money(
            app.summary.total_completed_and_stored, project.currency
        ),
        "current_payment_due": money(app.summary.current_payment_due, project.currency),
    }
    _send(
        session,
        EmailKind.PAY_APP_SUBMITTED,
        {email: links.staff_page(pay_app) for email in reviewers},
        project,
        commitment,
        pay_app,
        event_id,
        context,
    )


def sent_back(
    session: Session,
    links: Links,
    project: Project,
    commitment: Commitment,
    pay_app: PayApp,
    lines: list[tuple[str, str, PayAppLine]],
    event_id: str,
) -> None:
    """Tell the invoice contacts what to revise: the overall note and each line's reason.
    `lines` are (code, description, line) in SOV order."""
    context = {
        "note": pay_app.review_note,
        "reasons": [
            {"code": code, "description": description, "reason": line.review_reason}
            for code, description, line in lines
            if line.review_reason
        ],
    }
    _send_to_contacts(
        session, links, EmailKind.PAY_APP_REVISE, project, commitment, pay_app, event_id, context
    )


def ready_for_payment(
    session: Session,
    links: Links,
    project: Project,
    commitment: Commitment,
    pay_app: PayApp,
    event_id: str,
    settled: str = "",
) -> None:
    """Tell the invoice contacts and the project's admins what the certificate says is due;
    `settled` says why a certificate with nothing due needs no payment."""
    context = {
        "total_earned_less_retainage": money(pay_app.total_earned_less_retainage, project.currency),
        "previous_certificates": money(pay_app.previous_certificates, project.currency),
        "current_payment_due": money(pay_app.current_payment_due, project.currency),
        "due_terms": pay_app.due_terms,
        "settled": settled,
    }
    recipients = {
        email: links.staff_page(pay_app)
        for email in emails_with_role(session, project.id, Role.ADMIN)
    } | {
        email: links.contact_page(pay_app, email)
        for email in _invoice_contacts(session, commitment)
    }
    kind = EmailKind.PAY_APP_READY_FOR_PAYMENT
    _send(session, kind, recipients, project, commitment, pay_app, event_id, context)


def approved_as_noted(
    session: Session,
    links: Links,
    project: Project,
    commitment: Commitment,
    pay_app: PayApp,
    app: Application,
    lines: list[tuple[str, str, PayAppLine]],
    event_id: str,
) -> None:
    """Tell the invoice contacts what the reviewer changed: each changed line's submitted and
    approved amounts with the reviewer's note. `lines` are (code, description, line) in SOV
    order."""
    changes = [
        {
            "code": code,
            "description": description,
            "submitted_work": money(line.submitted_work or ZERO, project.currency),
            "submitted_stored": money(line.submitted_stored or ZERO, project.currency),
            "approved_work": money(line.work_this_period, project.currency),
            "approved_stored": money(line.materials_stored, project.currency),
            "note": line.review_note,
        }
        for code, description, line in lines
        if line.review_note
        or line.submitted_work != line.work_this_period
        or line.submitted_stored != line.materials_stored
    ]
    context = {
        "note": pay_app.review_note,
        "changes": changes,
        "total_completed_and_stored": money(
            app.summary.total_completed_and_stored, project.currency
        ),
        "current_payment_due": money(app.summary.current_payment_due, project.currency),
    }
    _send_to_contacts(
        session,
        links,
        EmailKind.PAY_APP_APPROVED_AS_NOTED,
        project,
        commitment,
        pay_app,
        event_id,
        context,
    )


def payment_recorded(
    session: Session,
    links: Links,
    project: Project,
    commitment: Commitment,
    pay_app: PayApp,
    payment: Payment,
    paid_to_date: Decimal,
    remaining_due: Decimal,
) -> None:
    """Tell the invoice contacts about a payment: amount, method, date, and what is still due.
    Keyed by the payment, so each payment is one email."""
    context = {
        "amount": money(payment.amount, project.currency),
        "method": PAYMENT_METHOD_WORDS.get(payment.method, payment.method),
        "reference": payment.reference,
        "paid_on": payment.paid_on.isoformat(),
        "paid_to_date": money(paid_to_date, project.currency),
        "remaining_due": money(remaining_due, project.currency),
    }
    _send_to_contacts(
        session,
        links,
        EmailKind.PAY_APP_PAYMENT,
        project,
        commitment,
        pay_app,
        payment.id,
        context,
    )


PAYMENT_METHOD_WORDS = {
    "check": "check",
    "ach": "ACH transfer",
    "card": "card",
    "credit_balance": "your credit balance",
    "other": "other",
}


def _send_to_contacts(
    session: Session,
    links: Links,
    kind: EmailKind,
    project: Project,
    commitment: Commitment,
    pay_app: PayApp,
    key: str,
    context: Mapping[str, object],
) -> None:
    """Queue `kind` for each invoice contact, with a signed link to their own pay app; `key`
    (an audit event's id, or a payment's) makes each email once."""
    recipients = _contact_links(session, links, commitment, pay_app)
    _send(session, kind, recipients, project, commitment, pay_app, key, context)


def _contact_links(
    session: Session, links: Links, commitment: Commitment, pay_app: PayApp
) -> dict[str, str]:
    return {
        email: links.contact_page(pay_app, email)
        for email in _invoice_contacts(session, commitment)
    }


def _invoice_contacts(session: Session, commitment: Commitment) -> list[str]:
    contacts = commitments.contacts(session, commitment.id)
    return [contact.email for contact in contacts if contact.invoice_contact]


def _send(
    session: Session,
    kind: EmailKind,
    recipients: Mapping[str, str],
    project: Project,
    commitment: Commitment,
    pay_app: PayApp,
    event_id: str,
    context: Mapping[str, object],
) -> None:
    period = session.get(BillingPeriod, pay_app.period_id) if pay_app.period_id else None
    common = {
        "terminology": project.terminology,
        "project_name": project.name,
        "vendor_name": commitment.vendor_name,
        "commitment_number": commitment.number,
        "application_number": pay_app.number,
        "period_start": period.start_date.isoformat() if period else "",
        "period_end": period.end_date.isoformat() if period else "",
    }
    for email, address in recipients.items():
        enqueue(
            session,
            kind=kind,
            dedupe_key=f"{kind}:{pay_app.id}:{event_id}:{email}",
            to_address=email,
            context={**common, **context, "link": address},
            project_id=project.id,
            commitment_id=commitment.id,
            period_id=pay_app.period_id,
        )
