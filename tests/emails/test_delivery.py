"""Delivering outbox rows: recorded only after the server's 250, retried only when worth it."""

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from emails.delivery import DeliveryOutcome, deliver
from emails.outbox import OutboxStatus, by_id, enqueue, message_id_for
from emails.sender import TemporaryDeliveryError
from paydraw.db.tables import EmailOutbox
from tests.emails.examples import INVITE
from tests.support.smtp import SmtpTestServer

KEY = "invite:cmt_1:per_1:dana@acme.example"
FROM = "Paydraw <billing@paydraw.local>"


def queued_invite(engine: Engine, to_address: str = "dana@acme.example") -> str:
    with Session(engine) as session:
        row = enqueue(session, kind="invite", dedupe_key=KEY, to_address=to_address, context=INVITE)
        session.commit()
        return row.id


def stored(engine: Engine, outbox_id: str) -> EmailOutbox:
    with Session(engine) as session:
        row = by_id(session, outbox_id)
        assert row is not None
        return row


async def deliver_to(server: SmtpTestServer, engine: Engine, outbox_id: str) -> DeliveryOutcome:
    return await deliver(engine, outbox_id, host="127.0.0.1", port=server.port, mail_from=FROM)


class TestDelivered:
    async def test_arrives_with_the_stable_message_id_and_both_parts(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        outbox_id = queued_invite(engine)

        outcome = await deliver_to(smtp_server, engine, outbox_id)

        assert outcome == DeliveryOutcome(outbox_id, "sent")
        [message] = smtp_server.received
        assert message["Message-ID"] == message_id_for(KEY)
        assert message["Subject"].startswith("Invite to bill: Harbor View Tower")
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert text is not None and "Please include lien waivers." in text.get_content()
        assert html is not None and "Please include lien waivers." in html.get_content()
        row = stored(engine, outbox_id)
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 1, "")
        assert row.sent_at is not None

    async def test_an_already_sent_email_is_not_sent_again(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        outbox_id = queued_invite(engine)
        await deliver_to(smtp_server, engine, outbox_id)

        outcome = await deliver_to(smtp_server, engine, outbox_id)

        assert outcome == DeliveryOutcome(outbox_id, "already_sent")
        assert len(smtp_server.received) == 1
        assert stored(engine, outbox_id).attempts == 1


class TestTemporaryFailures:
    async def test_each_451_raises_and_counts_then_the_email_arrives_once(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        outbox_id = queued_invite(engine)
        smtp_server.fail_temporarily(2)

        for attempt in (1, 2):
            with pytest.raises(TemporaryDeliveryError, match="451"):
                await deliver_to(smtp_server, engine, outbox_id)
            row = stored(engine, outbox_id)
            assert (row.status, row.attempts) == (OutboxStatus.PENDING, attempt)
            assert row.last_error.startswith("451 4.3.0")
        outcome = await deliver_to(smtp_server, engine, outbox_id)

        assert outcome.status == "sent"
        assert len(smtp_server.received) == 1
        row = stored(engine, outbox_id)
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 3)

    async def test_a_server_that_is_down_raises_and_the_email_stays_pending(
        self, engine: Engine
    ) -> None:
        outbox_id = queued_invite(engine)
        server = SmtpTestServer()
        server.start()
        server.stop()

        with pytest.raises(TemporaryDeliveryError):
            await deliver_to(server, engine, outbox_id)

        row = stored(engine, outbox_id)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
        assert row.last_error


class TestPermanentFailures:
    async def test_a_550_for_the_address_fails_the_email_without_raising(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        outbox_id = queued_invite(engine, to_address="gone@acme.example")
        smtp_server.refuse("gone@acme.example")

        outcome = await deliver_to(smtp_server, engine, outbox_id)

        reply = "gone@acme.example: 550 5.1.1 <gone@acme.example>: mailbox unavailable"
        assert outcome == DeliveryOutcome(outbox_id, "failed", reply)
        assert smtp_server.received == []
        row = stored(engine, outbox_id)
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.FAILED, 1, reply)

    async def test_a_failed_email_is_not_sent_again(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        outbox_id = queued_invite(engine, to_address="gone@acme.example")
        smtp_server.refuse("gone@acme.example")
        first = await deliver_to(smtp_server, engine, outbox_id)
        smtp_server.refusals.clear()

        again = await deliver_to(smtp_server, engine, outbox_id)

        assert again == first
        assert smtp_server.received == []
        assert stored(engine, outbox_id).attempts == 1


class TestUnknownEmail:
    async def test_is_a_lookup_error(self, engine: Engine, smtp_server: SmtpTestServer) -> None:
        with pytest.raises(LookupError, match="eml_missing"):
            await deliver_to(smtp_server, engine, "eml_missing")
