"""Deliver outbox rows: what the email activity calls, once per attempt Temporal makes.

A send is recorded only after the server's 250, ten at a time at most (`SENT_PER_WRITE`). If the
process dies between a 250 and its record, the next attempt sends those emails again (at most
ten) under the same Message-IDs, which mail clients show once.
An email queued by a step is sent from the step's own rows, right after its commit, without
reading them again (`just_queued`).
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import anyio
from sqlalchemy import Engine, Table, update
from sqlmodel import Session

from emails.outbox import OutboxStatus, by_ids, queued_in
from emails.sender import (
    MailServer,
    PermanentDeliveryError,
    SmtpConnection,
    TemporaryDeliveryError,
)
from paydraw.db.engine import read_scope
from paydraw.db.tables import EmailOutbox, utcnow

OUTBOX: Table = EmailOutbox.__table__  # type: ignore[attr-defined]
# Emails sent are recorded a few at a time: if the process dies before a record, the next
# attempt sends those again under the same Message-IDs.
SENT_PER_WRITE = 10


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
    created_at: datetime

    @property
    def queued_at(self) -> datetime:
        """When it was queued, in UTC (SQLite gives the time back without its zone)."""
        at = self.created_at
        return at if at.tzinfo else at.replace(tzinfo=UTC)


async def deliver(
    engine: Engine, outbox_id: str, *, server: MailServer, mail_from: str
) -> DeliveryOutcome:
    """Send the row once; a temporary failure is counted and raised so Temporal retries it.

    A row already sent is not sent again, nor is one that already failed for good: its
    outcome is returned as recorded, so a repeated activity gives the same answer.
    """
    outcomes = await deliver_many(engine, [outbox_id], server=server, mail_from=mail_from)
    return outcomes[0]


async def deliver_many(
    engine: Engine,
    outbox_ids: Sequence[str],
    *,
    server: MailServer,
    mail_from: str,
    progress: Callable[[], None] = lambda: None,
    timeout: float | None = None,
) -> list[DeliveryOutcome]:
    """Read the rows, then send the ones still pending as `deliver_loaded` does."""
    emails = await anyio.to_thread.run_sync(load_many, engine, list(outbox_ids))
    return await deliver_loaded(
        engine,
        emails,
        server=server,
        mail_from=mail_from,
        progress=progress,
        timeout=timeout,
    )


async def deliver_loaded(
    engine: Engine,
    emails: Mapping[str, QueuedEmail],
    *,
    server: MailServer,
    mail_from: str,
    progress: Callable[[], None] = lambda: None,
    timeout: float | None = None,
) -> list[DeliveryOutcome]:
    """Send the emails still pending, one after the other on one connection; ``progress`` is
    called after each. The ones the server took are recorded as sent in one write after at most
    ``SENT_PER_WRITE`` of them, and before this returns or raises.

    A permanent refusal is recorded on its row and the others go on. A temporary one is counted
    on its row; the rest go on while the connection holds (a 4xx for one mailbox), and wait for
    the next try when it does not (the server is away). Then the first temporary failure is
    raised, so Temporal tries again later, and the rows sent meanwhile are not sent again.
    """
    outcomes: list[DeliveryOutcome] = []
    postponed: TemporaryDeliveryError | None = None
    sent: list[str] = []
    try:
        async with SmtpConnection(server=server, mail_from=mail_from, timeout=timeout) as smtp:
            for outbox_id, email in emails.items():
                if email.status == OutboxStatus.SENT:
                    outcomes.append(DeliveryOutcome(outbox_id, DeliveryStatus.ALREADY_SENT))
                    continue
                if email.status == OutboxStatus.FAILED:
                    failed = DeliveryOutcome(outbox_id, DeliveryStatus.FAILED, email.last_error)
                    outcomes.append(failed)
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
                    sent.append(outbox_id)
                    outcomes.append(DeliveryOutcome(outbox_id, DeliveryStatus.SENT))
                    if len(sent) == SENT_PER_WRITE:
                        await anyio.to_thread.run_sync(record_sent, engine, sent)
                        sent = []
                progress()
    finally:
        if sent:  # also when the connection failed, or the activity was cancelled, after them
            # Shielded, and on the loop's own executor: a second cancel while this waits must
            # not leave the emails that went out unrecorded.
            recording = asyncio.get_running_loop().run_in_executor(None, record_sent, engine, sent)
            await asyncio.shield(recording)
    if postponed is not None:
        raise postponed
    return outcomes


def queued(row: EmailOutbox) -> QueuedEmail:
    return QueuedEmail(
        message_id=row.message_id,
        to_address=row.to_address,
        subject=row.subject,
        text_body=row.text_body,
        html_body=row.html_body,
        status=row.status,
        last_error=row.last_error,
        created_at=row.created_at,
    )


def load_many(engine: Engine, outbox_ids: list[str]) -> dict[str, QueuedEmail]:
    with read_scope(engine) as session:
        rows = {row.id: row for row in by_ids(session, outbox_ids)}
    if missing := [outbox_id for outbox_id in outbox_ids if outbox_id not in rows]:
        raise LookupError(f"no email {', '.join(missing)} in the outbox")
    return {outbox_id: queued(rows[outbox_id]) for outbox_id in outbox_ids}


def just_queued(session: Session, outbox_ids: Sequence[str]) -> dict[str, QueuedEmail]:
    """The emails a transaction has just queued, from its session: their rows are in it, so
    sending them right after the commit needs no second read."""
    rows = {
        outbox_id: queued_in(session, outbox_id) or session.get(EmailOutbox, outbox_id)
        for outbox_id in outbox_ids
    }
    found = {outbox_id: row for outbox_id, row in rows.items() if row is not None}
    if missing := [outbox_id for outbox_id in outbox_ids if outbox_id not in found]:
        raise LookupError(f"no email {', '.join(missing)} in the outbox")
    return {outbox_id: queued(row) for outbox_id, row in found.items()}


def record_sent(engine: Engine, outbox_ids: Sequence[str]) -> None:
    """Each of these went out (250): one write for all of them."""
    count_attempts(engine, outbox_ids, status=OutboxStatus.SENT, sent_at=utcnow())


def record_failure(engine: Engine, outbox_id: str, error: str) -> None:
    count_attempts(engine, [outbox_id], status=OutboxStatus.FAILED, last_error=error)


def record_temporary_failure(engine: Engine, outbox_id: str, error: str) -> None:
    """The row stays pending: the status is not written, so a send that won meanwhile stands."""
    count_attempts(engine, [outbox_id], last_error=error)


def count_attempts(engine: Engine, outbox_ids: Sequence[str], **changes: object) -> None:
    """One more attempt for each row, counted by the database itself so that overlapping attempts
    all count."""
    with engine.begin() as connection:
        connection.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(list(outbox_ids)))
            .values(attempts=OUTBOX.c.attempts + 1, **changes)
        )
