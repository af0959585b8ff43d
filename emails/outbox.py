"""The email outbox: every email is first a row, rendered once, then delivered by an activity.

A row's ``dedupe_key`` (e.g. ``invite:{commitment}:{period}``) makes enqueueing idempotent, so a
retried workflow step never queues the same email twice, and its Message-ID is derived from that
key, so even a message the server received twice shows once in the recipient's mail client.
"""

import hashlib
from collections.abc import Mapping
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from emails.render import render
from paydraw.db.tables import EmailOutbox


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def message_id_for(dedupe_key: str) -> str:
    """The same Message-ID for the same key, on every attempt and every machine."""
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@paydraw.local>"


def enqueue(
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    to_address: str,
    context: Mapping[str, object],
    project_id: str | None = None,
    commitment_id: str | None = None,
    period_id: str | None = None,
) -> EmailOutbox:
    """Queue an email once per `dedupe_key`: a repeat returns the first row unchanged.

    The caller commits. Two transactions racing with the same key both pass the look-up; the
    database's unique key stops the second insert, which then returns the first one's row.
    """
    if (existing := by_dedupe_key(session, dedupe_key)) is not None:
        return existing
    email = render(kind, context)
    row = EmailOutbox(
        dedupe_key=dedupe_key,
        message_id=message_id_for(dedupe_key),
        kind=kind,
        to_address=to_address,
        subject=email.subject,
        text_body=email.text,
        html_body=email.html,
        project_id=project_id,
        commitment_id=commitment_id,
        period_id=period_id,
    )
    try:
        # A savepoint, so losing the race rolls back only this insert, not the caller's work.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        winner = by_dedupe_key(session, dedupe_key)
        if winner is None:
            raise
        return winner
    return row


def by_dedupe_key(session: Session, dedupe_key: str) -> EmailOutbox | None:
    return session.exec(select(EmailOutbox).where(EmailOutbox.dedupe_key == dedupe_key)).first()


def by_id(session: Session, outbox_id: str) -> EmailOutbox | None:
    return session.get(EmailOutbox, outbox_id)


def pending(session: Session, limit: int) -> list[EmailOutbox]:
    """The oldest emails not yet delivered, first queued first."""
    query = (
        select(EmailOutbox)
        .where(EmailOutbox.status == OutboxStatus.PENDING)
        .order_by(col(EmailOutbox.created_at), col(EmailOutbox.id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def pending_for_pay_app(session: Session, pay_app_id: str) -> list[EmailOutbox]:
    """Emails about one pay app still waiting to be sent (their dedupe keys name the pay app)."""
    query = select(EmailOutbox).where(
        col(EmailOutbox.dedupe_key).contains(f":{pay_app_id}:"),
        EmailOutbox.status == "pending",
    )
    return list(session.exec(query.order_by(col(EmailOutbox.created_at))))
