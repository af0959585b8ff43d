"""A step answers once its change is committed; its emails follow at once through the worker's
relay, and a mail server that is busy or stalls delays them without holding up the answer or
losing them."""

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api import process
from paydraw.db.tables import AuditEvent, EmailOutbox
from paydraw.settings import Settings
from tests.conftest import new_user_headers
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import Paydraw, contact_token, messages_to, post, today, wait_for
from tests.workflows.test_pay_app_lifecycle import line_amounts, period_body, put

CONTACT = "billing@acme.example"
REVIEWER = "pm@gc.example"


async def filled_in_pay_app(
    paydraw: Paydraw, engine: Engine, smtp: SmtpTestServer, admin: dict[str, str]
) -> dict[str, str]:
    """A project with a reviewer and one commitment, invited and accepted, its pay app filled in;
    returns the contact's headers."""
    env, api = paydraw.env, paydraw.api
    project = await post(api, "/api/v1/projects", admin, name="Harbor View Tower")
    await post(
        api, f"/api/v1/projects/{project['id']}/members", admin, email=REVIEWER, role="reviewer"
    )
    new_user_headers(engine, REVIEWER)
    commitment = await post(
        api,
        f"/api/v1/projects/{project['id']}/commitments",
        admin,
        number="SC-001",
        vendor_name="Acme Framing LLC",
        contacts=[{"email": CONTACT}],
        sov_lines=[{"code": "01", "description": "Framing", "scheduled_value": "60000.00"}],
    )
    cid = commitment["id"]
    await post(api, f"/api/v1/commitments/{cid}/sov/approve", admin)
    line = (await api.get(f"/api/v1/commitments/{cid}", headers=admin)).json()["sov_lines"][0]
    start = await today(env)
    period = await post(
        api,
        f"/api/v1/projects/{project['id']}/billing-periods",
        admin,
        **period_body(start, due=start + timedelta(days=10)),
    )
    await post(api, f"/api/v1/billing-periods/{period['id']}/invites", admin, commitment_ids=[cid])
    await wait_for(lambda: bool(messages_to(smtp, CONTACT)), what="the invite")
    contact = {"Authorization": f"Bearer {contact_token(messages_to(smtp, CONTACT)[-1])}"}
    await post(api, "/api/v1/contact/invitation/accept", contact)
    await put(
        api,
        "/api/v1/contact/pay-app/lines",
        contact,
        line_amounts({"01": ("12000.00", "0.00")}, {"01": line["id"]}),
        expect=201,
    )
    return contact


async def timed_submit(paydraw: Paydraw, contact: dict[str, str]) -> float:
    """Submit the pay app; the seconds the answer took."""
    began = time.monotonic()
    submitted = await post(paydraw.api, "/api/v1/contact/pay-app/submit", contact)
    assert submitted["status"] == "under_review"
    return time.monotonic() - began


async def one_email_to_the_reviewer(smtp: SmtpTestServer) -> None:
    """The reviewer's email arrives, and only once."""
    await wait_for(lambda: bool(messages_to(smtp, REVIEWER)), timeout=60, what="the email")
    await asyncio.sleep(1)
    assert len(messages_to(smtp, REVIEWER)) == 1


def outbox_row_to_the_reviewer(engine: Engine) -> EmailOutbox:
    with Session(engine) as session:
        query = select(EmailOutbox).where(col(EmailOutbox.to_address) == REVIEWER)
        return session.exec(query).one()


class TestStepEmails:
    async def test_the_reviewers_email_arrives_with_the_submit(
        self,
        on_dev_server: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        contact = await filled_in_pay_app(on_dev_server, engine, smtp, admin)

        submitted = await post(on_dev_server.api, "/api/v1/contact/pay-app/submit", contact)

        assert submitted["status"] == "under_review"
        # Relayed right after the answer, by the worker that applied the step.
        await wait_for(lambda: bool(messages_to(smtp, REVIEWER)), timeout=5, what="the email")
        [email] = messages_to(smtp, REVIEWER)
        assert "Acme Framing LLC" in str(email.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
        await wait_for(
            lambda: outbox_row_to_the_reviewer(engine).status == "sent", what="the record"
        )
        assert outbox_row_to_the_reviewer(engine).attempts == 1

    async def test_a_busy_mail_server_delays_the_email_but_not_the_answer(
        self,
        on_dev_server: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        contact = await filled_in_pay_app(on_dev_server, engine, smtp, admin)
        smtp.fail_temporarily(2)

        answered_in = await timed_submit(on_dev_server, contact)

        assert answered_in < 5, f"the answer waited {answered_in:.1f} s for the mail server"
        await one_email_to_the_reviewer(smtp)
        row = outbox_row_to_the_reviewer(engine)
        # Refused to the relay, refused at the email activity's first try (once the relay's
        # grace is over), then taken.
        assert (row.status, row.attempts) == ("sent", 3)

    async def test_a_mail_server_that_stalls_does_not_hold_up_the_answer(
        self,
        on_dev_server: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        contact = await filled_in_pay_app(on_dev_server, engine, smtp, admin)
        smtp.stall(10)

        answered_in = await timed_submit(on_dev_server, contact)

        assert answered_in < 3, f"the answer waited {answered_in:.1f} s for the mail server"
        await one_email_to_the_reviewer(smtp)

    async def test_an_answer_too_long_in_coming_is_a_504_and_the_same_key_gets_it_later(
        self,
        on_dev_server: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        api = on_dev_server.api
        contact = await filled_in_pay_app(on_dev_server, engine, smtp, admin)
        # An answer within a millisecond is more than any step can give.
        monkeypatch.setattr(process, "ANSWER_WAIT_SECONDS", 0.001)
        submit = {**contact, "Idempotency-Key": "submit-once"}

        first = await api.post("/api/v1/contact/pay-app/submit", headers=submit)

        assert first.status_code == 504, first.text
        assert first.json()["error"] == "still_running"
        assert "same Idempotency-Key" in first.json()["message"]
        monkeypatch.setattr(process, "ANSWER_WAIT_SECONDS", 60.0)
        for _ in range(30):
            again = await api.post("/api/v1/contact/pay-app/submit", headers=submit)
            if again.status_code != 504:
                break
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "under_review"
        await one_email_to_the_reviewer(smtp)
        with Session(engine) as session:
            submits = session.exec(
                select(AuditEvent).where(
                    col(AuditEvent.entity_type) == "pay_app", col(AuditEvent.action) == "submit"
                )
            ).all()
        assert len(submits) == 1
