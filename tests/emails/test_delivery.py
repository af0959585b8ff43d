"""Delivering outbox rows: recorded only after the server's 250, retried only when worth it."""

import asyncio

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from emails.delivery import SENT_PER_WRITE, DeliveryOutcome, deliver, deliver_many
from emails.outbox import OutboxStatus, by_id, enqueue, message_id_for
from emails.sender import MailServer, TemporaryDeliveryError
from paydraw.db.tables import EmailOutbox
from tests.emails.examples import INVITE
from tests.support.smtp import SmtpTestServer, smtp_test_server

KEY = "invite:cmt_1:per_1:dana@acme.example"
FROM = "Paydraw <billing@paydraw.local>"


def queued_invite(
    engine: Engine, to_address: str = "dana@acme.example", dedupe_key: str = KEY
) -> str:
    with Session(engine) as session:
        row = enqueue(
            session, kind="invite", dedupe_key=dedupe_key, to_address=to_address, context=INVITE
        )
        session.commit()
        return row.id


def stored(engine: Engine, outbox_id: str) -> EmailOutbox:
    with Session(engine) as session:
        row = by_id(session, outbox_id)
        assert row is not None
        return row


async def deliver_to(server: SmtpTestServer, engine: Engine, outbox_id: str) -> DeliveryOutcome:
    return await deliver(
        engine, outbox_id, server=MailServer(host="127.0.0.1", port=server.port), mail_from=FROM
    )


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


ADDRESSES = ["ann@one.example", "bob@two.example", "cy@three.example"]


def queued_invites(engine: Engine) -> list[str]:
    return [queued_invite(engine, address, f"invite:{address}") for address in ADDRESSES]


async def deliver_all(server: SmtpTestServer, engine: Engine, ids: list[str]) -> list[str]:
    outcomes = await deliver_many(
        engine, ids, server=MailServer(host="127.0.0.1", port=server.port), mail_from=FROM
    )
    return [outcome.status for outcome in outcomes]


def recipients(server: SmtpTestServer) -> list[str]:
    return [message["To"] for message in server.received]


class TestSeveralOnOneConnection:
    async def test_all_arrive_over_one_connection_each_recorded(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        ids = queued_invites(engine)

        statuses = await deliver_all(smtp_server, engine, ids)

        assert statuses == ["sent", "sent", "sent"]
        assert recipients(smtp_server) == ADDRESSES
        assert len(smtp_server.connections) == 1
        assert [stored(engine, each).status for each in ids] == [OutboxStatus.SENT] * 3

    async def test_a_550_for_one_fails_it_and_the_others_arrive(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        ids = queued_invites(engine)
        smtp_server.refuse(ADDRESSES[1])

        statuses = await deliver_all(smtp_server, engine, ids)

        assert statuses == ["sent", "failed", "sent"]
        assert recipients(smtp_server) == [ADDRESSES[0], ADDRESSES[2]]
        assert len(smtp_server.connections) == 1
        assert stored(engine, ids[1]).last_error.startswith(f"{ADDRESSES[1]}: 550")

    async def test_a_451_for_one_lets_the_others_go_then_raises_and_the_retry_sends_only_it(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        ids = queued_invites(engine)
        smtp_server.fail_temporarily(1)

        with pytest.raises(TemporaryDeliveryError, match="451"):
            await deliver_all(smtp_server, engine, ids)
        assert recipients(smtp_server) == ADDRESSES[1:]
        assert stored(engine, ids[0]).status == OutboxStatus.PENDING

        statuses = await deliver_all(smtp_server, engine, ids)

        assert statuses == ["sent", "already_sent", "already_sent"]
        assert sorted(recipients(smtp_server)) == sorted(ADDRESSES)
        assert [stored(engine, each).attempts for each in ids] == [2, 1, 1]

    async def test_a_server_that_is_down_stops_the_batch_at_the_first_email(
        self, engine: Engine
    ) -> None:
        ids = queued_invites(engine)
        server = SmtpTestServer()
        server.start()
        server.stop()

        with pytest.raises(TemporaryDeliveryError):
            await deliver_all(server, engine, ids)

        rows = [stored(engine, each) for each in ids]
        assert [row.status for row in rows] == [OutboxStatus.PENDING] * 3
        assert [row.attempts for row in rows] == [1, 0, 0]


class TestRecordedAfterTheirReplies:
    async def test_more_than_one_write_of_them_are_all_recorded(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        addresses = [f"clerk{n}@vendor.example" for n in range(SENT_PER_WRITE + 2)]
        ids = [queued_invite(engine, address, f"invite:{address}") for address in addresses]

        statuses = await deliver_all(smtp_server, engine, ids)

        assert statuses == ["sent"] * len(addresses)
        assert recipients(smtp_server) == addresses
        rows = [stored(engine, each) for each in ids]
        assert [(row.status, row.attempts) for row in rows] == [(OutboxStatus.SENT, 1)] * len(ids)
        assert all(row.sent_at is not None for row in rows)

    async def test_a_send_cut_short_keeps_the_record_of_those_that_went(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        ids = queued_invites(engine)

        def after_each() -> None:  # the server hangs after the first message
            smtp_server.stall(30)

        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1):
                await deliver_many(
                    engine,
                    ids,
                    server=MailServer(host="127.0.0.1", port=smtp_server.port),
                    mail_from=FROM,
                    progress=after_each,
                )

        assert recipients(smtp_server) == ADDRESSES[:1]
        rows = [stored(engine, each) for each in ids]
        assert [row.status for row in rows] == [OutboxStatus.SENT] + [OutboxStatus.PENDING] * 2


class TestUnknownEmail:
    async def test_is_a_lookup_error(self, engine: Engine, smtp_server: SmtpTestServer) -> None:
        with pytest.raises(LookupError, match="eml_missing"):
            await deliver_to(smtp_server, engine, "eml_missing")


class TestAddressesOutsideAscii:
    async def send_three(self, engine: Engine, server: SmtpTestServer, middle: str) -> list[str]:
        ids = [
            queued_invite(engine, address, f"{KEY}:{n}")
            for n, address in enumerate(["ann@acme.example", middle, "bob@acme.example"])
        ]
        await deliver_many(
            engine, ids, server=MailServer(host="127.0.0.1", port=server.port), mail_from=FROM
        )
        return ids

    async def test_one_the_server_cannot_take_fails_alone_and_the_rest_go_out(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        ids = await self.send_three(engine, smtp_server, "t\u00e9st@sub.example")

        assert sorted(str(m["To"]) for m in smtp_server.received) == [
            "ann@acme.example",
            "bob@acme.example",
        ]
        failed = stored(engine, ids[1])
        assert failed.status == OutboxStatus.FAILED
        assert "SMTPUTF8" in failed.last_error
        assert stored(engine, ids[2]).status == OutboxStatus.SENT

    async def test_a_server_offering_smtputf8_takes_it(self, engine: Engine) -> None:
        with smtp_test_server(smtputf8=True) as server:
            ids = await self.send_three(engine, server, "t\u00e9st@sub.example")
        assert [str(m["To"]) for m in server.received] == [
            "ann@acme.example",
            "t\u00e9st@sub.example",
            "bob@acme.example",
        ]
        assert all(stored(engine, outbox_id).status == OutboxStatus.SENT for outbox_id in ids)

    async def test_a_domain_outside_ascii_goes_in_its_idna_form(
        self, engine: Engine, smtp_server: SmtpTestServer
    ) -> None:
        await self.send_three(engine, smtp_server, "dana@b\u00fccher.example")
        assert "dana@xn--bcher-kva.example" in [str(m["To"]) for m in smtp_server.received]
