"""What every example shares (``World``: the API and the worker on the test's event loop, the SMTP
server, the staff's headers), a request that changed something (``Sent``, to send again), and an
example's set-up through the API: a project and an approved commitment on the model's terms, and
each period, to which the commitment is invited and whose invite the contact accepts with the
link from the email."""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from paydraw.db.tables import AuditEvent
from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import api_client, contact_token, messages_to, today, wait_for
from tests.workflows.stateful.model import SOV, BillingModel, Period, text

T = TypeVar("T")


@dataclass(frozen=True)
class Commitment:
    """An example's commitment: its project, its invoice contact and its SOV line ids by code."""

    project_id: str
    id: str
    number: str
    vendor_name: str
    contact_email: str
    sov: dict[str, str]


@dataclass(frozen=True)
class Sent:
    """A request that changed something, to send again with the same Idempotency-Key."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    key: str
    response: httpx.Response
    event: AuditEvent | None

    @property
    def pay_app_id(self) -> str:
        return self.event.entity_id if self.event else ""


@dataclass
class World:
    """What every example shares: the API and the worker on the test's event loop."""

    loop: asyncio.AbstractEventLoop
    env: WorkflowEnvironment
    api: httpx.AsyncClient
    settings: Settings
    engine: Engine
    smtp: SmtpTestServer
    admin: dict[str, str]
    other_admin: dict[str, str]
    reviewer: dict[str, str]

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=120)

    def restart_the_api(self) -> None:
        """A new API process, as far as requests can tell: a new app on the same database."""
        self.api = api_client(self.env, self.settings, self.engine)

    def call(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any = None,
        key: str | None = None,
    ) -> httpx.Response:
        if key is not None:
            headers = headers | {"Idempotency-Key": key}
        return self.run(self.api.request(method, path, json=body, headers=headers))

    def ok(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
        response = self.call(method, path, headers, body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def open_commitment(self, n: int, model: BillingModel) -> Commitment:
        """Example ``n``'s project on the model's over-billing policy and rollover, with the
        reviewer and a second admin, and its commitment at the model's retainage, approved."""
        project = self.ok(
            "POST",
            "/api/v1/projects",
            self.admin,
            {
                "name": f"Harbor View Tower {n}",
                "overbilling_policy": model.policy,
                "stored_materials_rollover": model.rollover,
            },
        )
        for email, role in (("pm@gc.example", "reviewer"), ("ap2@gc.example", "admin")):
            self.ok(
                "POST",
                f"/api/v1/projects/{project['id']}/members",
                self.admin,
                {"email": email, "role": role},
            )
        number, vendor_name = f"SC-{n:04d}", f"Vendor {n}"
        contact_email = f"billing@vendor-{n}.example"
        commitment = self.ok(
            "POST",
            f"/api/v1/projects/{project['id']}/commitments",
            self.admin,
            {
                "number": number,
                "vendor_name": vendor_name,
                "contacts": [{"name": "Billing clerk", "email": contact_email}],
                "retainage": {"percent": format(model.rate, "f")},
                "sov_lines": [
                    {"code": code, "description": f"Line {code}", "scheduled_value": text(value)}
                    for code, value in SOV.items()
                ],
            },
        )
        self.ok("POST", f"/api/v1/commitments/{commitment['id']}/sov/approve", self.admin)
        sov = {line["code"]: line["id"] for line in commitment["sov_lines"]}
        return Commitment(project["id"], commitment["id"], number, vendor_name, contact_email, sov)

    def open_period(self, commitment: Commitment, opened_before: int, past_due: bool) -> Period:
        """Open a period after the ``opened_before`` ones, invite the commitment, and accept with
        the link from the email; a period whose due date has passed cannot be accepted."""
        start = self.run(today(self.env))
        if past_due:
            dates = (
                start - timedelta(days=30),
                start - timedelta(days=1),
                start - timedelta(days=2),
            )
        else:
            start += timedelta(days=31 * opened_before)
            dates = (start, start + timedelta(days=29), start + timedelta(days=20))
        body = dict(
            zip(("start_date", "end_date", "due_date"), map(date.isoformat, dates), strict=True)
        )
        path = f"/api/v1/projects/{commitment.project_id}/billing-periods"
        period = self.ok("POST", path, self.admin, body)
        subject = f"due {dates[2].isoformat()}"
        before = len(messages_to(self.smtp, commitment.contact_email, subject))
        invited = self.ok(
            "POST",
            f"/api/v1/billing-periods/{period['id']}/invites",
            self.admin,
            {"commitment_ids": [commitment.id]},
        )
        assert invited["invited"] == [commitment.id], invited
        self.run(
            wait_for(
                lambda: len(messages_to(self.smtp, commitment.contact_email, subject)) > before,
                what="the invite email",
            )
        )
        invite = messages_to(self.smtp, commitment.contact_email, subject)[-1]
        contact = {"Authorization": f"Bearer {contact_token(invite)}"}
        accepted = self.call("POST", "/api/v1/contact/invitation/accept", contact)
        if past_due:
            assert accepted.status_code == 409, accepted.text
            assert accepted.json()["status"] == "past_due"
            assert accepted.json()["allowed_actions"] == ["decline"]
        else:
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["status"] == "accepted"
        return Period(period["id"], contact, accepted=not past_due)
