"""Every refusal on a pay app, through the HTTP API: its status code and its message."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from paydraw.db.tables import AuditEvent, PayApp
from paydraw.invitations.tokens import ContactClaim, issue
from paydraw.pay_apps.service import DRAFT_LEFT_AT_CLOSE
from paydraw.settings import Settings
from tests.conftest import new_user_headers
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import Paydraw, contact_token, open_period, post, wait_for


@dataclass
class Billing:
    env: WorkflowEnvironment
    api: httpx.AsyncClient
    admin: dict[str, str]
    reviewer: dict[str, str]
    viewer: dict[str, str]
    contact: dict[str, str]
    other_contact: dict[str, str]
    commitment_id: str
    period_id: str
    lines: dict[str, str]

    async def pay_app(self, **lines: str) -> dict[str, Any]:
        """The contact's draft with work this period per SOV line code."""
        body = {
            "entry": {
                "mode": "per_line_amounts",
                "lines": [
                    {"sov_line_id": self.lines[code], "work_this_period": amount}
                    for code, amount in lines.items()
                ],
            }
        }
        response = await self.api.put(
            "/api/v1/contact/pay-app/lines", json=body, headers=self.contact
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def finalized(self, **lines: str) -> dict[str, Any]:
        draft = await self.pay_app(**lines)
        await post(self.api, "/api/v1/contact/pay-app/submit", self.contact)
        await post(
            self.api, f"/api/v1/pay-apps/{draft['id']}/review", self.reviewer, decision="approve"
        )
        return await post(self.api, f"/api/v1/pay-apps/{draft['id']}/finalize", self.admin)


@pytest.fixture
async def billing(
    on_dev_server: Paydraw,
    process_settings: Settings,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],
) -> AsyncIterator[Billing]:
    """Two commitments invited to an open period; the first one's contact has accepted."""
    env, api = on_dev_server.env, on_dev_server.api
    project = await post(api, "/api/v1/projects", admin, name="Harbor View Tower")
    for email, role in (("pm@gc.example", "reviewer"), ("lender@bank.example", "viewer")):
        await post(api, f"/api/v1/projects/{project['id']}/members", admin, email=email, role=role)
    ids = []
    for number, email in (("SC-1", "billing@acme.example"), ("SC-2", "ar@glazing.example")):
        commitment = await post(
            api,
            f"/api/v1/projects/{project['id']}/commitments",
            admin,
            number=number,
            vendor_name=f"Vendor {number}",
            contacts=[{"email": email}],
            sov_lines=[
                {"code": "01", "scheduled_value": "5000.00"},
                {"code": "02", "scheduled_value": "60000.00"},
            ],
        )
        await post(api, f"/api/v1/commitments/{commitment['id']}/sov/approve", admin)
        ids.append(commitment)
    period_id = await open_period(env, api, admin, project["id"], due_in_days=20)
    await post(
        api,
        f"/api/v1/billing-periods/{period_id}/invites",
        admin,
        commitment_ids=[c["id"] for c in ids],
    )
    await wait_for(lambda: len(smtp.received) == 2, what="two invites")
    tokens = {str(m["To"]): contact_token(m) for m in smtp.received}
    contact = {"Authorization": f"Bearer {tokens['billing@acme.example']}"}
    await post(api, "/api/v1/contact/invitation/accept", contact)
    yield Billing(
        env=env,
        api=api,
        admin=admin,
        reviewer=new_user_headers(engine, "pm@gc.example"),
        viewer=new_user_headers(engine, "lender@bank.example"),
        contact=contact,
        other_contact={"Authorization": f"Bearer {tokens['ar@glazing.example']}"},
        commitment_id=ids[0]["id"],
        period_id=period_id,
        lines={line["code"]: line["id"] for line in ids[0]["sov_lines"]},
    )


class TestRefusals:
    async def test_over_billing_is_422_naming_the_line_and_what_is_billable(
        self, billing: Billing
    ) -> None:
        response = await billing.api.put(
            "/api/v1/contact/pay-app/lines",
            json={
                "entry": {
                    "mode": "per_line_amounts",
                    "lines": [{"sov_line_id": billing.lines["01"], "work_this_period": "5000.01"}],
                }
            },
            headers=billing.contact,
        )
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "over_billing"
        assert "line 01" in body["message"] and "billable 5000.00" in body["message"]
        assert body["over_billed_lines"][0]["billable"] == "5000.00"

    async def test_a_wrong_state_is_409_with_the_allowed_actions(self, billing: Billing) -> None:
        draft = await billing.pay_app(**{"01": "1000.00"})
        response = await billing.api.post(
            f"/api/v1/pay-apps/{draft['id']}/finalize", headers=billing.admin
        )
        assert response.status_code == 409
        assert response.json()["status"] == "draft"
        assert "submit" in response.json()["allowed_actions"]

    async def test_a_wrong_role_is_403(self, billing: Billing) -> None:
        draft = await billing.pay_app(**{"01": "1000.00"})
        await post(billing.api, "/api/v1/contact/pay-app/submit", billing.contact)
        response = await billing.api.post(
            f"/api/v1/pay-apps/{draft['id']}/review",
            json={"decision": "approve"},
            headers=billing.viewer,
        )
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "forbidden"
        await post(
            billing.api,
            f"/api/v1/pay-apps/{draft['id']}/review",
            billing.reviewer,
            decision="approve",
        )
        reviewer_finalizes = await billing.api.post(
            f"/api/v1/pay-apps/{draft['id']}/finalize", headers=billing.reviewer
        )
        assert reviewer_finalizes.status_code == 403
        assert reviewer_finalizes.json()["message"].startswith("a reviewer may not finalize")

    async def test_a_token_for_another_commitment_never_reaches_this_pay_app(
        self, billing: Billing, process_settings: Settings
    ) -> None:
        await billing.pay_app(**{"01": "1000.00"})
        other = await billing.api.get("/api/v1/contact/pay-app", headers=billing.other_contact)
        assert other.status_code == 404
        forged = issue(
            process_settings,
            ContactClaim(billing.commitment_id, billing.period_id, "ar@glazing.example"),
        )
        response = await billing.api.get(
            "/api/v1/contact/pay-app", headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code == 404

    async def test_a_stranger_gets_404_for_the_pay_app(
        self, billing: Billing, engine: Engine
    ) -> None:
        draft = await billing.pay_app(**{"01": "1000.00"})
        stranger = new_user_headers(engine, "someone@other-gc.example")
        response = await billing.api.get(f"/api/v1/pay-apps/{draft['id']}", headers=stranger)
        assert response.status_code == 404
        response = await billing.api.post(
            f"/api/v1/pay-apps/{draft['id']}/finalize", headers=stranger
        )
        assert response.status_code == 404

    async def test_paying_a_void_pay_app_and_voiding_a_paid_one_are_refused(
        self, billing: Billing
    ) -> None:
        first = await billing.finalized(**{"01": "1000.00"})
        voided = await post(
            billing.api, f"/api/v1/pay-apps/{first['id']}/void", billing.admin, reason="Wrong job"
        )
        assert voided["status"] == "void"
        pay_void = await billing.api.post(
            f"/api/v1/pay-apps/{first['id']}/payments",
            json={"amount": "10.00", "method": "check", "paid_on": "2026-11-20"},
            headers=billing.admin,
        )
        assert pay_void.status_code == 409
        assert pay_void.json()["status"] == "void"

        again = await billing.finalized(**{"01": "1000.00"})
        assert again["number"] == 2
        due = again["summary"]["current_payment_due"]
        await post(
            billing.api,
            f"/api/v1/pay-apps/{again['id']}/payments",
            billing.admin,
            amount=due,
            method="ach",
            paid_on="2026-11-20",
        )
        void_paid = await billing.api.post(
            f"/api/v1/pay-apps/{again['id']}/void", json={"reason": "x"}, headers=billing.admin
        )
        assert void_paid.status_code == 409
        assert void_paid.json()["status"] == "paid"

    async def test_a_payment_above_what_is_due_is_422(self, billing: Billing) -> None:
        pay_app = await billing.finalized(**{"01": "1000.00"})
        response = await billing.api.post(
            f"/api/v1/pay-apps/{pay_app['id']}/payments",
            json={"amount": "900.01", "method": "check", "paid_on": "2026-11-20"},
            headers=billing.admin,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "amount"


class TestClosingThePeriod:
    async def test_a_draft_left_at_close_is_deleted_and_its_amounts_billable_again(
        self, billing: Billing, engine: Engine
    ) -> None:
        draft = await billing.pay_app(**{"02": "30000.00"})

        await post(billing.api, f"/api/v1/billing-periods/{billing.period_id}/close", billing.admin)

        async def draft_gone() -> bool:
            response = await billing.api.get(
                f"/api/v1/pay-apps/{draft['id']}", headers=billing.admin
            )
            return response.status_code == 404

        await wait_for(draft_gone, what="the draft deleted at close")
        late = await billing.api.post("/api/v1/contact/pay-app/submit", headers=billing.contact)
        assert late.status_code == 409, late.text
        assert late.json()["message"] == "the billing period is closed; it takes no new pay app"
        assert late.json()["status"] == "closed"
        with Session(engine) as session:
            [deleted] = session.exec(
                select(AuditEvent).where(
                    AuditEvent.entity_id == draft["id"], AuditEvent.action == "delete"
                )
            ).all()
        assert deleted.reason == DRAFT_LEFT_AT_CLOSE
        assert deleted.detail["lines"]["02"]["work_this_period"] == "30000.00"

        commitment = (
            await billing.api.get(
                f"/api/v1/commitments/{billing.commitment_id}", headers=billing.admin
            )
        ).json()
        next_period = await open_period(
            billing.env,
            billing.api,
            billing.admin,
            commitment["project_id"],
            due_in_days=50,
            starts_in_days=30,
        )
        response = await billing.api.post(
            f"/api/v1/billing-periods/{next_period}/commitments/{billing.commitment_id}/pay-apps",
            json={
                "entry": {
                    "mode": "per_line_amounts",
                    "lines": [{"sov_line_id": billing.lines["02"], "work_this_period": "60000.00"}],
                }
            },
            headers=billing.admin,
        )
        assert response.status_code == 201, response.text
        assert response.json()["summary"]["total_completed_and_stored"] == "60000.00"


class TestRaces:
    async def test_fifty_concurrent_submissions_and_approvals_never_double_bill(
        self, billing: Billing, engine: Engine
    ) -> None:
        draft = await billing.pay_app(**{"02": "60000.00"})
        submits = await asyncio.gather(
            *(
                billing.api.post("/api/v1/contact/pay-app/submit", headers=billing.contact)
                for _ in range(50)
            )
        )
        assert sorted(r.status_code for r in submits).count(200) == 1
        assert {r.status_code for r in submits} <= {200, 409}
        approvals = await asyncio.gather(
            *(
                billing.api.post(
                    f"/api/v1/pay-apps/{draft['id']}/review",
                    json={"decision": "approve"},
                    headers=billing.reviewer,
                )
                for _ in range(50)
            )
        )
        assert [r.status_code for r in approvals].count(200) == 1
        creates = await asyncio.gather(
            *(
                billing.api.post(
                    f"/api/v1/billing-periods/{billing.period_id}/commitments/"
                    f"{billing.commitment_id}/pay-apps",
                    json={
                        "entry": {
                            "mode": "per_line_amounts",
                            "lines": [
                                {"sov_line_id": billing.lines["01"], "work_this_period": "10.00"}
                            ],
                        }
                    },
                    headers=billing.admin,
                )
                for _ in range(50)
            )
        )
        assert {r.status_code for r in creates} == {409}
        with Session(engine) as session:
            live = session.exec(
                select(PayApp).where(
                    PayApp.commitment_id == billing.commitment_id, PayApp.status != "void"
                )
            ).all()
        assert len(live) == 1
        assert live[0].status == "approved"
