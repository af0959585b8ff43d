"""The business figures an operator watches, read from the record (the database), so every API
replica reports the same: invitations, emails and pay apps by status, and how long the oldest
email has waited to go out."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from paydraw.db.tables import EmailOutbox, Invitation, PayApp, utcnow


@dataclass(frozen=True)
class Figures:
    invitations: dict[str, int]
    emails: dict[tuple[str, str], int]  # (kind, status) -> count
    emails_retrying: int
    oldest_queued_email_seconds: float
    pay_apps: dict[str, int]


def count_by(session: Session, column: object) -> dict[str, int]:
    rows = session.exec(select(column, func.count()).group_by(column))  # type: ignore[call-overload]
    return {str(value): int(count) for value, count in rows}


def read_figures(session: Session, now: datetime | None = None) -> Figures:
    now = now or utcnow()
    emails = session.exec(
        select(EmailOutbox.kind, EmailOutbox.status, func.count()).group_by(
            col(EmailOutbox.kind), col(EmailOutbox.status)
        )
    )
    retrying = session.exec(
        select(func.count()).where(EmailOutbox.status == "pending", EmailOutbox.attempts > 0)
    ).one()
    oldest: datetime | None = session.exec(
        select(func.min(EmailOutbox.created_at)).where(EmailOutbox.status == "pending")
    ).one()
    return Figures(
        invitations=count_by(session, Invitation.status),
        emails={(kind, status): int(count) for kind, status, count in emails},
        emails_retrying=int(retrying),
        oldest_queued_email_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        pay_apps=count_by(session, PayApp.status),
    )
