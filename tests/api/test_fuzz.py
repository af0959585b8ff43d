"""Every operation of the OpenAPI document fuzzed with schemathesis, with a Temporal dev server
and a billing worker running: nothing a client sends may get a 5xx other than the documented 503
(busy, retry) and 504 (still running), and every answer must be one the document describes (its
status code, content type and body schema).

CI runs a few examples per operation (``PAYDRAW_FUZZ_EXAMPLES``, default 5), on SQLite, as an
admin with a project, a commitment, an open period, a change order and a pay app to aim at; half
the cases use those ids (the rest are random, and answer 404), and the contact's operations carry
a valid contact token. `scripts/fuzz.sh` runs many more.
"""

import asyncio
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from paydraw.db.engine import make_engine
from paydraw.invitations.tokens import ContactClaim, issue
from paydraw.settings import Settings
from tests.api.helpers import create_commitment, create_project
from tests.conftest import new_user_headers
from tests.support.smtp import SmtpTestServer
from tests.support.temporal import billing_worker, dev_server

EXAMPLES = int(os.environ.get("PAYDRAW_FUZZ_EXAMPLES", "5"))
DOCUMENTED_5XX = {503, 504}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Temporal:
    """A dev server and a billing worker on an event loop of their own thread: the fuzzer calls
    the app synchronously, and the worker must go on answering meanwhile."""

    settings: Settings
    ready: threading.Event = field(default_factory=threading.Event)
    address: str = ""
    namespace: str = ""
    failure: BaseException | None = None

    def run(self, engine: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.stopping = asyncio.Event()
        try:
            self.loop.run_until_complete(self.serve(engine))
        except BaseException as error:  # reported to the test's thread
            self.failure = error
            self.ready.set()

    async def serve(self, engine: Any) -> None:
        env = await dev_server()
        try:
            self.address = env.client.service_client.config.target_host
            self.namespace = env.client.namespace
            async with billing_worker(env.client, self.settings, engine):
                self.ready.set()
                await self.stopping.wait()
        finally:
            await env.shutdown()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)


@pytest.fixture
def fuzzed_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Any]:
    database = tmp_path / "paydraw.db"
    shutil.copy(sqlite_template, database)
    smtp = SmtpTestServer()
    smtp.start()
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{database}",
        secret_key="test-secret",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        temporal_task_queue=f"paydraw-fuzz-{uuid.uuid4().hex}",
    )
    engine = make_engine(settings.resolved_database_url)
    temporal = Temporal(settings)
    thread = threading.Thread(target=temporal.run, args=(engine,), daemon=True)
    thread.start()
    assert temporal.ready.wait(120), "the Temporal dev server did not start"
    if temporal.failure is not None:
        raise temporal.failure
    settings = settings.model_copy(
        update={"temporal_address": temporal.address, "temporal_namespace": temporal.namespace}
    )
    admin = new_user_headers(engine, "ap@gc.example")
    app = create_app(settings, engine)
    try:
        with TestClient(app) as client:
            app.state.fuzz_ids, app.state.fuzz_contact = objects_to_aim_at(client, admin, settings)
        app.state.fuzz_headers = admin
        yield app
    finally:
        temporal.stop()
        thread.join(60)
        smtp.stop()
        engine.dispose()


def objects_to_aim_at(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> tuple[dict[str, str], dict[str, str]]:
    """A project with an approved commitment, a pending change order, an open billing period and
    a draft pay app; the ids by path parameter, and a contact's headers."""
    project = create_project(client, admin)
    commitment = create_commitment(client, admin, project["id"])
    approved = client.post(f"/api/v1/commitments/{commitment['id']}/sov/approve", headers=admin)
    assert approved.status_code == 200, approved.text
    change_order = client.post(
        f"/api/v1/commitments/{commitment['id']}/change-orders",
        json={
            "number": "CO-1",
            "status": "pending",
            "lines": [{"code": "04", "description": "Stairs", "amount": "1000.00"}],
        },
        headers=admin,
    )
    today = date.today()
    period = client.post(
        f"/api/v1/projects/{project['id']}/billing-periods",
        json={
            "start_date": str(today - timedelta(days=10)),
            "end_date": str(today + timedelta(days=20)),
            "due_date": str(today + timedelta(days=25)),
        },
        headers=admin,
    )
    assert period.status_code == 201, period.text
    period_id = period.json()["id"]
    pay_app = client.post(
        f"/api/v1/billing-periods/{period_id}/commitments/{commitment['id']}/pay-apps",
        json={"kind": "progress", "entry": {"mode": "contract_percent", "percent": "10"}},
        headers=admin,
    )
    assert pay_app.status_code == 201, pay_app.text
    ids = {
        "project_id": project["id"],
        "commitment_id": commitment["id"],
        "period_id": period_id,
        "pay_app_id": pay_app.json()["id"],
    }
    assert change_order.status_code == 201, change_order.text
    ids["change_order_id"] = change_order.json()["id"]
    email = commitment["contacts"][0]["email"]
    token = issue(settings, ContactClaim(commitment["id"], period_id, email))
    return ids, {"Authorization": f"Bearer {token}"}


def test_every_answer_is_documented_and_none_is_a_server_error(fuzzed_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    known: dict[str, str] = fuzzed_app.state.fuzz_ids
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    def headers_of(path: str) -> dict[str, str]:
        if path.startswith("/api/v1/contact"):
            return dict(fuzzed_app.state.fuzz_contact)
        return dict(fuzzed_app.state.fuzz_headers)

    for operation in operations:

        @given(case=operation.as_strategy(), aim=st.booleans())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def documented_answer(case: Any, aim: bool) -> None:
            if aim and case.path_parameters:
                for name in case.path_parameters:
                    if name in known:
                        case.path_parameters[name] = known[name]
            response = case.call(headers=headers_of(case.path))
            if case.path == "/readyz":
                assert response.status_code in (200, 503), response.text
                return
            if response.status_code in DOCUMENTED_5XX:
                assert response.json().get("error") in ("busy", "still_running"), (
                    case.method,
                    case.path,
                    response.text,
                )
            case.validate_response(response, checks=CHECKS)

        documented_answer()
