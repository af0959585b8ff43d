"""Paydraw as production runs it, here: PostgreSQL, two API processes and two worker processes on
the Temporal dev server, mail through a relay that demands STARTTLS and a login. Fifty
commitments go from invite to paid, ten at a time, through both APIs, while one worker is killed
(SIGKILL) and one API restarted mid-way. Every invite arrives once, every pay app ends paid with
the right figures, every step happened once, and no email is left behind."""

import asyncio
import os
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from paydraw.db.engine import make_engine
from paydraw.db.tables import AuditEvent, EmailOutbox
from paydraw.runner import WORKER_COMMAND, Child, api_answers, api_command, local_url
from paydraw.settings import Settings
from tests.conftest import new_user_headers
from tests.support.postgres import admin_connection, free_port
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    contact_token,
    open_period,
    process_environment,
    project_with_commitments,
    wait_for,
)

COMMITMENTS = 50
AT_ONCE = 10
LOGIN = ("paydraw", "relay-password-0b7e")
RETRIED = {502, 503, 504}


@pytest.fixture
def production_database(postgres_url: str) -> Iterator[Engine]:
    name = f"paydraw_production_{uuid.uuid4().hex[:10]}"
    with admin_connection(postgres_url) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE paydraw_template")
    engine = make_engine(postgres_url.rsplit("/", 1)[0] + "/" + name)
    yield engine
    engine.dispose()


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[SmtpTestServer, str]]:
    """A mail relay wanting STARTTLS, then AUTH; the CA file that makes its certificate trusted."""
    authority = trustme.CA()
    ca_file = tmp_path / "relay-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    server = SmtpTestServer(
        security="starttls", certificate=authority.issue_cert("127.0.0.1"), login=LOGIN
    )
    server.start()
    yield server, str(ca_file)
    server.stop()


class Client:
    """What a client behind a load balancer does: send to one API, and when it is away or busy
    send the same request again, same Idempotency-Key, to the other."""

    def __init__(self, urls: list[str]) -> None:
        self.clients = [httpx.AsyncClient(base_url=url, timeout=90) for url in urls]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

    async def send(
        self, verb: str, path: str, headers: dict[str, str], prefer: int = 0, **body: Any
    ) -> Any:
        key = uuid.uuid4().hex
        for attempt in range(60):
            client = self.clients[(prefer + attempt) % len(self.clients)]
            try:
                response = await client.request(
                    verb,
                    path,
                    json=body if verb != "GET" else None,
                    headers=headers | ({"Idempotency-Key": key} if verb != "GET" else {}),
                )
            except httpx.TransportError:
                await asyncio.sleep(0.5)
                continue
            if response.status_code in RETRIED:
                await asyncio.sleep(0.5)
                continue
            assert response.status_code < 300, (verb, path, response.text)
            return response.json() if response.content else None
        raise AssertionError(f"{verb} {path} never answered")


@pytest.mark.slow
async def test_fifty_lifecycles_survive_a_killed_worker_and_a_restarted_api(
    dev_server_env: WorkflowEnvironment,
    production_database: Engine,
    relay: tuple[SmtpTestServer, str],
    tmp_path: Path,
) -> None:
    env, engine = dev_server_env, production_database
    mail, ca_file = relay
    admin = new_user_headers(engine, "ap@gc.example")
    settings = Settings(
        data_dir=tmp_path,
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="production-shaped-secret",
        public_url="https://paydraw.test",
        smtp_host="127.0.0.1",
        smtp_port=mail.port,
        smtp_security="starttls",
        smtp_username=LOGIN[0],
        smtp_password=SecretStr(LOGIN[1]),
        smtp_ca_file=ca_file,
        temporal_task_queue=f"paydraw-production-{uuid.uuid4().hex}",
    )
    apis = [settings.model_copy(update={"port": free_port()}) for _ in range(2)]
    variables = process_environment(env, settings)

    async def start_api(number: int) -> Child:
        child = await Child.spawn(
            f"api-{number}",
            api_command(apis[number]),
            tmp_path,
            process_environment(env, apis[number]),
        )
        await wait_for(lambda: api_answers(apis[number]), timeout=60, what="the API")
        return child

    workers = [
        await Child.spawn(f"worker-{n}", WORKER_COMMAND, tmp_path, variables) for n in range(2)
    ]
    api_children = [await start_api(0), await start_api(1)]
    client = Client([local_url(each) for each in apis])
    progress: Counter[str] = Counter()
    try:
        async with httpx.AsyncClient(base_url=local_url(apis[0]), timeout=60) as first:
            project_id, ids = await project_with_commitments(first, admin, COMMITMENTS)
            period_id = await open_period(env, first, admin, project_id, due_in_days=14)
        invited = await client.send(
            "POST", f"/api/v1/billing-periods/{period_id}/invites", admin, commitment_ids=ids
        )
        assert sorted(invited["invited"]) == sorted(ids)
        await wait_for(lambda: len(invites(mail)) == COMMITMENTS, timeout=120, what="every invite")

        async def lifecycle(n: int, commitment_id: str) -> dict[str, Any]:
            prefer = n % 2
            token = contact_token(invites(mail)[f"billing@vendor-{n}.example"][0])
            contact = {"Authorization": f"Bearer {token}"}
            await client.send("POST", "/api/v1/contact/invitation/accept", contact, prefer)
            commitment = await client.send("GET", f"/api/v1/commitments/{commitment_id}", admin)
            framing = next(line for line in commitment["sov_lines"] if line["code"] == "02")
            entry = [{"sov_line_id": framing["id"], "work_this_period": f"{1000 + n}.00"}]
            await client.send(
                "PUT",
                "/api/v1/contact/pay-app/lines",
                contact,
                prefer,
                entry={"mode": "per_line_amounts", "lines": entry},
            )
            pay_app = await client.send("POST", "/api/v1/contact/pay-app/submit", contact, prefer)
            progress["submitted"] += 1
            path = f"/api/v1/pay-apps/{pay_app['id']}"
            await client.send("POST", f"{path}/review", admin, prefer, decision="approve")
            final = await client.send("POST", f"{path}/finalize", admin, prefer)
            due = final["summary"]["current_payment_due"]
            await client.send(
                "POST",
                f"{path}/payments",
                admin,
                prefer,
                amount=due,
                method="ach",
                paid_on=date.today().isoformat(),
            )
            progress["paid"] += 1
            paid: dict[str, Any] = await client.send("GET", path, admin)
            return paid

        async def troubles() -> None:
            await wait_for(lambda: progress["submitted"] >= 15, timeout=180, what="15 submits")
            os.killpg(workers[0].process.pid, signal.SIGKILL)
            await workers[0].process.wait()
            await wait_for(lambda: progress["paid"] >= 25, timeout=180, what="25 payments")
            await api_children[1].stop()
            api_children[1] = await start_api(1)

        limit = asyncio.Semaphore(AT_ONCE)

        async def one(n: int, commitment_id: str) -> dict[str, Any]:
            async with limit:
                return await lifecycle(n, commitment_id)

        trouble = asyncio.ensure_future(troubles())
        paid = await asyncio.gather(*(one(n, cid) for n, cid in enumerate(ids)))
        await trouble
        # Emails a killed worker's relay held are sent by their workflows after the grace.
        await wait_for(lambda: pending(engine) == 0, timeout=120, what="no email left queued")
    finally:
        await client.aclose()
        for child in [*api_children, *workers]:
            await child.stop()

    assert workers[0].process.returncode == -signal.SIGKILL
    # Every contact got its invite once (one Message-ID), and so on for each kind of email.
    assert all(len(set(ids_)) == 1 for ids_ in message_ids(mail, "Invite").values())
    assert len(message_ids(mail, "Invite")) == COMMITMENTS
    for n, pay_app in enumerate(paid):
        summary = pay_app["summary"]
        assert pay_app["status"] == "paid", pay_app
        assert summary["total_completed_and_stored"] == f"{1000 + n}.00"
        assert pay_app["paid_to_date"] == summary["current_payment_due"]
        assert pay_app["remaining_due"] == "0.00"
    with Session(engine) as session:
        steps = Counter(
            event.action
            for event in session.exec(
                select(AuditEvent).where(col(AuditEvent.entity_type) == "pay_app")
            )
        )
    for action in ("submit", "approve", "finalize"):
        assert steps[action] == COMMITMENTS, steps
    assert set(mail.logins) == {"paydraw"}


def invites(mail: SmtpTestServer) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for message in mail.received:
        if "invite" in str(message["Subject"]).lower():
            found.setdefault(str(message["To"]), []).append(message)
    return found


def message_ids(mail: SmtpTestServer, subject: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in mail.received:
        if subject.lower() in str(message["Subject"]).lower():
            found.setdefault(str(message["To"]), []).append(str(message["Message-ID"]))
    return found


def pending(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(EmailOutbox).where(col(EmailOutbox.status) == "pending")
        return len(session.exec(query).all())
