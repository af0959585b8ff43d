"""Deliver outbox rows: what the email activity calls, once per attempt Temporal makes.

A send is recorded only after the server's 250. If the process dies between the 250 and the
record, the next attempt sends again under the same Message-ID, which mail clients show once.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import anyio
from sqlalchemy import Engine, Table, update

from emails.outbox import OutboxStatus, by_ids
from emails.sender import (
    SMTP_TIMEOUT_SECONDS,
    PermanentDeliveryError,
    SmtpConnection,
    TemporaryDeliveryError,
)
from paydraw.db.engine import read_scope
from paydraw.db.tables import EmailOutbox, utcnow

OUTBOX: Table = EmailOutbox.__table__  # type: ignore[attr-defined]


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
    outcomes = await deliver_many(engine, [outbox_id], host=host, port=port, mail_from=mail_from)
    return outcomes[0]


async def deliver_many(
    engine: Engine,
    outbox_ids: Sequence[str],
    *,
    host: str,
    port: int,
    mail_from: str,
    progress: Callable[[], None] = lambda: None,
    timeout: float = SMTP_TIMEOUT_SECONDS,
) -> list[DeliveryOutcome]:
    """Send the rows still pending, one after the other on one connection, each recorded as
    sent right after its 250; ``progress`` is called after each.

    A permanent refusal is recorded on its row and the others go on. A temporary one is counted
    on its row; the rest go on while the connection holds (a 4xx for one mailbox), and wait for
    the next try when it does not (the server is away). Then the first temporary failure is
    raised, so Temporal tries again later, and the rows sent meanwhile are not sent again.
    """
    emails = await anyio.to_thread.run_sync(load_many, engine, list(outbox_ids))
    outcomes: list[DeliveryOutcome] = []
    postponed: TemporaryDeliveryError | None = None
    async with SmtpConnection(host=host, port=port, mail_from=mail_from, timeout=timeout) as smtp:
        for outbox_id in outbox_ids:
            email = emails[outbox_id]
            if email.status == OutboxStatus.SENT:
                outcomes.append(DeliveryOutcome(outbox_id, DeliveryStatus.ALREADY_SENT))
                continue
            if email.status == OutboxStatus.FAILED:
                outcomes.append(DeliveryOutcome(outbox_id, DeliveryStatus.FAILED, email.last_error))
                continue
            if postponed is not None and not smtp.usable:
                continue
            try:
                await smtp.send(email)
            except PermanentDeliveryError as error:
                await anyio.to_thread.run_sync(record_failure, engine, outbox_id, str(error))
                outcomes.append(DeliveryOutcome(outbox_id, DeliveryStatus.FAILED, str(error)))
            except TemporaryDeliveryError as error:
                await anyio.to_thread.run_sync(
                    record_temporary_failure, engine, outbox_id, str(error)
                )
                postponed = postponed or error
            else:
                await anyio.to_thread.run_sync(record_sent, engine, outbox_id)
                outcomes.append(DeliveryOutcome(outbox_id, DeliveryStatus.SENT))
            progress()
    if postponed is not None:
        raise postponed
    return outcomes


def load_many(engine: Engine, outbox_ids: list[str]) -> dict[str, QueuedEmail]:
    with read_scope(engine) as session:
        rows = {row.id: row for row in by_ids(session, outbox_ids)}
    if missing := [outbox_id for outbox_id in outbox_ids if outbox_id not in rows]:
        raise LookupError(f"no email {', '.join(missing)} in the outbox")
    return {
        outbox_id: QueuedEmail(
            message_id=row.message_id,
            to_address=row.to_address,
            subject=row.subject,
            text_body=row.text_body,
            html_body=row.html_body,
            status=row.status,
            last_error=row.last_error,
        )
        for outbox_id, row in rows.items()
    }


def record_sent(engine: Engine, outbox_id: str) -> None:
    count_attempt(engine, outbox_id, status=OutboxStatus.SENT, sent_at=utcnow())


def record_failure(engine: Engine, outbox_id: str, error: str) -> None:
    count_attempt(engine, outbox_id, status=OutboxStatus.FAILED, last_error=error)


def record_temporary_failure(engine: Engine, outbox_id: str, error: str) -> None:
    """The row stays pending: the status is not written, so a send that won meanwhile stands."""
    count_attempt(engine, outbox_id, last_error=error)


def count_attempt(engine: Engine, outbox_id: str, **changes: object) -> None:
    """One more attempt, counted by the database itself so that overlapping attempts all count.
    A plain table statement in a plain transaction: one runs for every email sent."""
    with engine.begin() as connection:
        connection.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == outbox_id)
            .values(attempts=OUTBOX.c.attempts + 1, **changes)
        )
