"""Helpers for billing-process tests: the API in the test's event loop, polling, mail lookups."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from paydraw.runner import Child, api_answers, api_command, local_url
from paydraw.settings import Settings
from tests.support.postgres import free_port
from tests.support.smtp import SmtpTestServer

SOV = [
    {"code": "01", "description": "Mobilization", "scheduled_value": "5000.00"},
    {"code": "02", "description": "Framing", "scheduled_value": "60000.00"},
]


@dataclass(frozen=True)
class Paydraw:
    """Paydraw running for one test: its API (in the test's event loop) and a worker, on ``env``."""

    env: WorkflowEnvironment
    api: httpx.AsyncClient


@contextmanager
def writes_held(engine: Engine, *tables: str) -> Iterator[None]:
    """Hold the database's writes to ``tables`` (on SQLite, every write) from another
    connection, as a long transaction would: steps that write there wait, reads go on."""
    if engine.dialect.name == "sqlite":
        assert engine.url.database is not None
        holder = sqlite3.connect(engine.url.database, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        return
    with engine.connect() as connection, connection.begin() as transaction:
        connection.exec_driver_sql(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")
        yield
        transaction.rollback()


def api_client(env: WorkflowEnvironment, settings: Settings, engine: Engine) -> httpx.AsyncClient:
    """The API in the test's own event loop, talking to the given Temporal server."""
    app = create_app(settings, engine, temporal=env.client)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://paydraw.test")


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float = 30.0, what: str = ""
) -> None:
    """Poll until ``condition`` holds; fail the test with ``what`` after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.05)


def messages_to(smtp: SmtpTestServer, address: str, subject_part: str = "") -> list[EmailMessage]:
    return [
        message
        for message in smtp.received
        if address in str(message["To"]) and subject_part.lower() in str(message["Subject"]).lower()
    ]


async def today(env: WorkflowEnvironment) -> date:
    """Today on the Temporal server's clock, which a time-skipping test moves forward."""
    now = await env.get_current_time()
    return now.astimezone(UTC).date()


async def post(api: httpx.AsyncClient, path: str, headers: dict[str, str], **body: Any) -> Any:
    response = await api.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def project_with_commitments(
    api: httpx.AsyncClient, admin: dict[str, str], count: int, **project: Any
) -> tuple[str, list[str]]:
    """A project and ``count`` approved commitments, each with one invoice contact
    ``billing@vendor-<n>.example``."""
    created = await post(api, "/api/v1/projects", admin, name="Harbor View Tower", **project)
    commitment_ids = []
    for n in range(count):
        commitment = await post(
            api,
            f"/api/v1/projects/{created['id']}/commitments",
            admin,
            number=f"SC-{n:04d}",
            vendor_name=f"Vendor {n}",
            contacts=[{"name": f"Clerk {n}", "email": f"billing@vendor-{n}.example"}],
            sov_lines=SOV,
        )
        await post(api, f"/api/v1/commitments/{commitment['id']}/sov/approve", admin)
        commitment_ids.append(commitment["id"])
    return created["id"], commitment_ids


async def open_period(
    env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    admin: dict[str, str],
    project_id: str,
    due_in_days: int,
    starts_in_days: int = 0,
) -> str:
    """A 30-day period from ``starts_in_days`` after today, due ``due_in_days`` after today."""
    now = await today(env)
    start = now + timedelta(days=starts_in_days)
    period = await post(
        api,
        f"/api/v1/projects/{project_id}/billing-periods",
        admin,
        start_date=start.isoformat(),
        end_date=(start + timedelta(days=30)).isoformat(),
        due_date=(now + timedelta(days=due_in_days)).isoformat(),
    )
    period_id: str = period["id"]
    return period_id


def contact_link(message: EmailMessage) -> str:
    """The link to the contact's page in an email's plain-text part, as they would click it."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return next(word for word in body.get_content().split() if "/contact?token=" in word)


def contact_token(message: EmailMessage) -> str:
    """The signed token in the link of an invite email's plain-text part."""
    return contact_link(message).split("token=", 1)[1]


@asynccontextmanager
async def api_process(
    env: WorkflowEnvironment, settings: Settings, name: str = "api", port: int | None = None
) -> AsyncIterator[tuple[Child, str]]:
    """``uvicorn api.app:create_app`` in a process of its own, as an operator runs it; on
    ``port``, or a free one."""
    settings = settings.model_copy(update={"port": port or free_port()})
    variables = process_environment(env, settings)
    child = await Child.spawn(name, api_command(settings), settings.data_dir, variables)
    try:
        await wait_for(lambda: api_answers(settings), timeout=60, what=f"the {name} to answer")
        yield child, local_url(settings)
    finally:
        await child.stop()


def process_environment(env: WorkflowEnvironment, settings: Settings) -> dict[str, str]:
    """``settings`` as the PAYDRAW_* variables of a process of Paydraw's, on ``env``'s server."""
    variables = settings.as_environment()
    variables["PAYDRAW_TEMPORAL_ADDRESS"] = env.client.service_client.config.target_host
    variables["PAYDRAW_TEMPORAL_NAMESPACE"] = env.client.namespace
    return variables


@dataclass(frozen=True)
class InvitedPeriod:
    """A new project's open period and the commitments invited to it."""

    project_id: str
    period_id: str
    commitment_ids: list[str]
    contacts: list[str]
    """The invited commitments' invoice contacts, in the same order; each has one invite."""
    uninvited_ids: list[str]
    """The project's commitments after them, not invited."""


async def invited_period(
    env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    admin: dict[str, str],
    smtp: SmtpTestServer,
    count: int = 1,
    *,
    due_in_days: int,
    uninvited: int = 0,
    **project: Any,
) -> InvitedPeriod:
    """A project (``project`` as its fields) with ``count`` commitments invited to its open
    period, due ``due_in_days`` after today, once each contact has received their one invite;
    ``uninvited`` more commitments are left out of the invite."""
    project_id, ids = await project_with_commitments(api, admin, count + uninvited, **project)
    period_id = await open_period(env, api, admin, project_id, due_in_days)
    invited = ids[:count]
    await post(api, f"/api/v1/billing-periods/{period_id}/invites", admin, commitment_ids=invited)
    contacts = [f"billing@vendor-{n}.example" for n in range(count)]
    await wait_for(
        lambda: all(len(messages_to(smtp, contact)) == 1 for contact in contacts),
        timeout=60,
        what=f"one invite to each of {contacts}",
    )
    return InvitedPeriod(project_id, period_id, invited, contacts, ids[count:])


async def accept_invite(
    api: httpx.AsyncClient, smtp: SmtpTestServer, address: str
) -> dict[str, str]:
    """The contact at ``address`` accepts with the link in their latest invite; their headers."""
    contact = {"Authorization": f"Bearer {contact_token(messages_to(smtp, address)[-1])}"}
    await post(api, "/api/v1/contact/invitation/accept", contact)
    return contact
