"""The outbox: one row per dedupe key, rendered once, with a Message-ID derived from the key."""

import threading
import time

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from emails.outbox import OutboxStatus, by_id, enqueue, message_id_for, pending
from paydraw.db.tables import EmailOutbox
from tests.emails.examples import INVITE

KEY = "invite:cmt_1:per_1:dana@acme.example"


def enqueue_invite(session: Session, dedupe_key: str = KEY, **context: object) -> EmailOutbox:
    return enqueue(
        session,
        kind="invite",
        dedupe_key=dedupe_key,
        to_address="dana@acme.example",
        context={**INVITE, **context},
        project_id="prj_1",
        commitment_id="cmt_1",
        period_id="per_1",
    )


def row_count(engine: Engine) -> int:
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(func.count()).select_from(EmailOutbox)).one()


class TestMessageId:
    def test_is_stable_for_a_key_and_differs_between_keys(self) -> None:
        assert message_id_for(KEY) == message_id_for(KEY)
        assert message_id_for(KEY) != message_id_for(KEY + "x")
        assert message_id_for(KEY).startswith("<")
        assert message_id_for(KEY).endswith("@paydraw.local>")
        assert len(message_id_for(KEY)) == len("<@paydraw.local>") + 32


class TestEnqueue:
    def test_stores_the_rendered_email_as_pending(self, engine: Engine) -> None:
        with Session(engine, expire_on_commit=False) as session:
            row = enqueue_invite(session)
            session.commit()
            stored = by_id(session, row.id)

        assert stored is not None
        assert stored.status == OutboxStatus.PENDING
        assert stored.attempts == 0
        assert stored.message_id == message_id_for(KEY)
        assert stored.subject.startswith("Invite to bill: Harbor View Tower")
        assert "Please include lien waivers." in stored.text_body
        assert stored.html_body.startswith("<!doctype html>")
        assert (stored.project_id, stored.commitment_id, stored.period_id) == (
            "prj_1",
            "cmt_1",
            "per_1",
        )

    def test_twice_with_the_same_key_is_one_row_with_one_message_id(self, engine: Engine) -> None:
        with Session(engine, expire_on_commit=False) as session:
            first = enqueue_invite(session)
            session.commit()
        with Session(engine, expire_on_commit=False) as session:
            second = enqueue_invite(session, message="A different message")
            session.commit()

        assert second.id == first.id
        assert second.message_id == first.message_id
        assert "A different message" not in second.text_body
        assert row_count(engine) == 1

    def test_twice_in_one_transaction_is_one_row(self, engine: Engine) -> None:
        with Session(engine, expire_on_commit=False) as session:
            first = enqueue_invite(session)
            second = enqueue_invite(session)
            session.commit()

        assert second.id == first.id
        assert row_count(engine) == 1

    def test_a_race_on_the_same_key_leaves_one_row_and_both_callers_get_it(
        self, engine: Engine
    ) -> None:
        """The second caller starts while the first holds its row uncommitted.

        On PostgreSQL the second insert waits for the first commit, then hits the unique key;
        on SQLite the second transaction waits at BEGIN and then finds the row.
        """
        first_enqueued = threading.Event()
        ids: dict[str, str] = {}

        def first() -> None:
            with Session(engine, expire_on_commit=False) as session:
                ids["first"] = enqueue_invite(session).id
                first_enqueued.set()
                time.sleep(0.5)
                session.commit()

        def second() -> None:
            first_enqueued.wait()
            with Session(engine, expire_on_commit=False) as session:
                row = enqueue_invite(session)
                # The caller's own work in the same transaction survives losing the race.
                enqueue_invite(session, "invite:cmt_2:per_1:dana@acme.example")
                session.commit()
                ids["second"] = row.id

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert ids["second"] == ids["first"]
        assert row_count(engine) == 2


class TestPending:
    def test_lists_pending_emails_oldest_first_up_to_the_limit(self, engine: Engine) -> None:
        with Session(engine, expire_on_commit=False) as session:
            keys = [f"invite:cmt_{number}:per_1:dana@acme.example" for number in range(4)]
            rows = [enqueue_invite(session, key) for key in keys]
            session.commit()
            rows[1].status = OutboxStatus.SENT
            session.add(rows[1])
            session.commit()

            listed = pending(session, limit=2)

        assert [row.dedupe_key for row in listed] == [keys[0], keys[2]]

    def test_by_id_of_an_unknown_email_is_none(self, engine: Engine) -> None:
        with Session(engine, expire_on_commit=False) as session:
            assert by_id(session, "eml_missing") is None
