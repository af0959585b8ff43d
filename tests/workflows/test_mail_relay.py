"""Invites through a mail relay as production has one: the worker signs in over STARTTLS with the
settings' user name and password, and a relay that refuses the login keeps the invites queued
until the operator fixes the password; then every invite goes out, once."""

from pathlib import Path

import pytest
import trustme
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from paydraw.db.tables import EmailOutbox
from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.workflows.conftest import running
from tests.workflows.helpers import open_period, post, project_with_commitments, wait_for

LOGIN = ("paydraw", "relay-password-3e9a")


async def test_invites_go_through_a_relay_that_wants_starttls_and_a_login(
    dev_server_env: WorkflowEnvironment,
    process_settings: Settings,
    engine: Engine,
    admin: dict[str, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    authority = trustme.CA()
    ca_file = tmp_path / "relay-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    relay = SmtpTestServer(
        security="starttls", certificate=authority.issue_cert("127.0.0.1"), login=LOGIN
    )
    relay.start()
    wrong = process_settings.model_copy(
        update={
            "smtp_port": relay.port,
            "smtp_security": "starttls",
            "smtp_username": LOGIN[0],
            "smtp_password": SecretStr("an-old-password"),
            "smtp_ca_file": str(ca_file),
        }
    )
    try:
        async with running(dev_server_env, wrong, engine) as paydraw:
            project_id, ids = await project_with_commitments(paydraw.api, admin, 3)
            period_id = await open_period(
                dev_server_env, paydraw.api, admin, project_id, due_in_days=14
            )
            await post(
                paydraw.api,
                f"/api/v1/billing-periods/{period_id}/invites",
                admin,
                commitment_ids=ids,
            )
            # Tried, refused, and tried again: an outage, not a refusal of the emails.
            await wait_for(lambda: attempts(engine) >= 2, timeout=30, what="refused logins")
            # The operator sees it on /metrics: emails queued after a failed try (the batch
            # stops at the login, so the try is counted on the email it was for).
            scraped = await paydraw.api.get("/metrics")
            assert retrying_gauge(scraped.text) >= 1
        assert relay.received == [] and relay.logins == []
        assert statuses(engine) == ["pending"] * 3  # kept for later, none failed for good
        # One clear line a try, naming the login and the relay's answer; no traceback.
        retrying = [r for r in caplog.records if "did not take the emails" in r.getMessage()]
        assert retrying and all(r.levelname == "WARNING" and not r.exc_info for r in retrying)
        assert "refused the login of 'paydraw': 535" in retrying[0].getMessage()
        assert "an-old-password" not in caplog.text
        failed = [r for r in caplog.records if "Completing activity as failed" in r.message]
        assert not [r for r in failed if r.levelname != "DEBUG"]

        fixed = wrong.model_copy(update={"smtp_password": SecretStr(LOGIN[1])})
        async with running(dev_server_env, fixed, engine):
            await wait_for(lambda: len(relay.received) == 3, timeout=90, what="the invites")
    finally:
        relay.stop()

    assert sorted(str(message["To"]) for message in relay.received) == [
        f"billing@vendor-{n}.example" for n in range(3)
    ]
    assert relay.logins and set(relay.logins) == {"paydraw"}
    assert statuses(engine) == ["sent"] * 3


def retrying_gauge(metrics: str) -> float:
    """The API's gauge of emails still queued after a failed attempt."""
    found = [
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "paydraw_emails_retrying"
    ]
    assert len(found) == 1, metrics
    return found[0]


def statuses(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [row.status for row in session.exec(select(EmailOutbox))]


def attempts(engine: Engine) -> int:
    """The most attempts any email has had."""
    with Session(engine) as session:
        return max((row.attempts for row in session.exec(select(EmailOutbox))), default=0)
