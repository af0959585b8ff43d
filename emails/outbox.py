"""The email outbox: every email is first a row, rendered once, then delivered by an activity.

A row's ``dedupe_key`` (e.g. ``invite:{commitment}:{period}``) makes enqueueing idempotent, so a
retried workflow step never queues the same email twice, and its Message-ID is derived from that
key, so even a message the server received twice shows once in the recipient's mail client.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import Session, col, select

from emails.render import render
from paydraw.db.statements import insert_unless_taken
from paydraw.db.tables import EmailOutbox

OUTBOX: Table = EmailOutbox.__table__  # type: ignore[attr-defined]
QUEUED_IN_SESSION = "paydraw.outbox_queued"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def message_id_for(dedupe_key: str) -> str:
    """The same Message-ID for the same key, on every attempt and every machine."""
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@paydraw.local>"


@dataclass(frozen=True)
class EmailRequest:
    """An email to queue: its kind and template context, and what it belongs to."""

    kind: str
    dedupe_key: str
    to_address: str
    context: Mapping[str, object]
    project_id: str | None = None
    commitment_id: str | None = None
    period_id: str | None = None


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
    request = EmailRequest(
        kind, dedupe_key, to_address, context, project_id, commitment_id, period_id
    )
    return enqueue_request(session, request)


def enqueue_request(session: Session, request: EmailRequest) -> EmailOutbox:
    """One statement in the common case: the row is inserted unless its key is taken (by an
    earlier attempt, or a racing transaction), and then the row that took it is returned."""
    row = rendered(request)
    values = {column.name: getattr(row, column.name) for column in OUTBOX.columns}
    inserted = session.execute(insert_unless_queued(session), values)
    if inserted.first() is not None:
        # The session takes the row as the one it just inserted, as if it had loaded it.
        make_transient_to_detached(row)
        session.add(row)
        return noted(session, row)
    existing = by_dedupe_key(session, request.dedupe_key)
    assert existing is not None  # its key stopped the insert
    return noted(session, existing)


def noted(session: Session, row: EmailOutbox) -> EmailOutbox:
    """Keep the row with the session that queued it, so that the email can be sent right after
    the commit without reading it back (the session itself holds unchanged rows only weakly)."""
    session.info.setdefault(QUEUED_IN_SESSION, {})[row.id] = row
    return row


def queued_in(session: Session, outbox_id: str) -> EmailOutbox | None:
    """The row if this session queued it."""
    rows: dict[str, EmailOutbox] = session.info.get(QUEUED_IN_SESSION, {})
    return rows.get(outbox_id)


def queued_ids(session: Session) -> list[str]:
    """The ids of the emails this session queued, first queued first."""
    return list(session.info.get(QUEUED_IN_SESSION, {}))


def insert_unless_queued(session: Session) -> ReturningInsert[str]:
    return insert_unless_taken(session, OUTBOX, ("dedupe_key",), OUTBOX.c.id)


def enqueue_all(session: Session, requests: Sequence[EmailRequest]) -> list[EmailOutbox]:
    """Queue many emails as `enqueue` queues one, with one look-up for the keys already queued
    and one insert for the rest; if a racing transaction queued one of them meanwhile, each is
    queued on its own instead. Returns their rows in the order asked."""
    keys = list(dict.fromkeys(request.dedupe_key for request in requests))
    query = select(EmailOutbox).where(col(EmailOutbox.dedupe_key).in_(keys))
    rows = {row.dedupe_key: row for row in session.exec(query)}
    new = {
        request.dedupe_key: rendered(request)
        for request in requests
        if request.dedupe_key not in rows
    }
    try:
        with session.begin_nested():
            session.add_all(new.values())
    except IntegrityError:
        return [enqueue_request(session, request) for request in requests]
    rows.update(new)
    return [noted(session, rows[request.dedupe_key]) for request in requests]


def rendered(request: EmailRequest) -> EmailOutbox:
    email = render(request.kind, request.context)
    return EmailOutbox(
        dedupe_key=request.dedupe_key,
        message_id=message_id_for(request.dedupe_key),
        kind=request.kind,
        to_address=request.to_address,
        subject=email.subject,
        text_body=email.text,
        html_body=email.html,
        project_id=request.project_id,
        commitment_id=request.commitment_id,
        period_id=request.period_id,
    )


def by_dedupe_key(session: Session, dedupe_key: str) -> EmailOutbox | None:
    return session.exec(select(EmailOutbox).where(EmailOutbox.dedupe_key == dedupe_key)).first()


def by_id(session: Session, outbox_id: str) -> EmailOutbox | None:
    return session.get(EmailOutbox, outbox_id)


def by_ids(session: Session, outbox_ids: Sequence[str]) -> Sequence[EmailOutbox]:
    return session.exec(select(EmailOutbox).where(col(EmailOutbox.id).in_(outbox_ids))).all()


def still_pending(session: Session, outbox_ids: Sequence[str]) -> list[str]:
    """Of these emails, the ones not yet sent (nor refused for good)."""
    query = select(EmailOutbox.id).where(
        col(EmailOutbox.id).in_(outbox_ids), EmailOutbox.status == OutboxStatus.PENDING
    )
    return sorted(session.exec(query))


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
