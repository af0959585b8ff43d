"""Deliver one outbox row: what the email activity calls, once per attempt Temporal makes.

A send is recorded only after the server's 250. If the process dies between the 250 and the
record, the next attempt sends again under the same Message-ID, which mail clients show once.
"""

from dataclasses import dataclass
from enum import StrEnum

import anyio
from sqlalchemy import Engine, update
from sqlmodel import col

from emails.outbox import OutboxStatus, by_id
from emails.sender import PermanentDeliveryError, TemporaryDeliveryError, send
from paydraw.db.engine import read_scope, session_scope
from paydraw.db.tables import EmailOutbox, utcnow


class DeliveryStatus(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryOutcome:
    outbox_id: str
    status: str
    error: str = ""


@dataclass(frozen=True)
class QueuedEmail:
    """The row's fields, read in one short transaction and kept while the slow send runs."""

    message_id: str
    to_address: str
    subject: str
    text_body: str
    html_body: str
    status: str
    last_error: str


async def deliver(
    engine: Engine, outbox_id: str, *, host: str, port: int, mail_from: str
) -> DeliveryOutcome:
    """Send the row once; a temporary failure is counted and raised so Temporal retries it.

    A row already sent is not sent again, nor is one that already failed for good: its
    outcome is returned as recorded, so a repeated activity gives the same answer.
    """
    email = await anyio.to_thread.run_sync(load, engine, outbox_id)
    if email.status == OutboxStatus.SENT:
        return DeliveryOutcome(outbox_id, DeliveryStatus.ALREADY_SENT)
    if email.status == OutboxStatus.FAILED:
        return DeliveryOutcome(outbox_id, DeliveryStatus.FAILED, email.last_error)
    try:
        await send(email, host=host, port=port, mail_from=mail_from)
    except PermanentDeliveryError as error:
        await anyio.to_thread.run_sync(record_failure, engine, outbox_id, str(error))
        return DeliveryOutcome(outbox_id, DeliveryStatus.FAILED, str(error))
    except TemporaryDeliveryError as error:
        await anyio.to_thread.run_sync(record_temporary_failure, engine, outbox_id, str(error))
        raise
    await anyio.to_thread.run_sync(record_sent, engine, outbox_id)
    return DeliveryOutcome(outbox_id, DeliveryStatus.SENT)


def load(engine: Engine, outbox_id: str) -> QueuedEmail:
    with read_scope(engine) as session:
        row = by_id(session, outbox_id)
        if row is None:
            raise LookupError(f"no email {outbox_id} in the outbox")
        return QueuedEmail(
            message_id=row.message_id,
            to_address=row.to_address,
            subject=row.subject,
            text_body=row.text_body,
            html_body=row.html_body,
            status=row.status,
            last_error=row.last_error,
        )


def record_sent(engine: Engine, outbox_id: str) -> None:
    count_attempt(engine, outbox_id, status=OutboxStatus.SENT, sent_at=utcnow())


def record_failure(engine: Engine, outbox_id: str, error: str) -> None:
    count_attempt(engine, outbox_id, status=OutboxStatus.FAILED, last_error=error)


def record_temporary_failure(engine: Engine, outbox_id: str, error: str) -> None:
    """The row stays pending: the status is not written, so a send that won meanwhile stands."""
    count_attempt(engine, outbox_id, last_error=error)


def count_attempt(engine: Engine, outbox_id: str, **changes: object) -> None:
    """One more attempt, counted by the database itself so that overlapping attempts all count."""
    with session_scope(engine) as session:
        session.execute(
            update(EmailOutbox)
            .where(col(EmailOutbox.id) == outbox_id)
            .values(attempts=col(EmailOutbox.attempts) + 1, **changes)
        )
