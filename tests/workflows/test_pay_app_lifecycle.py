"""One commitment through two periods on the dev server with a real SMTP server: the pay apps are
driven by the invoice contact, a reviewer and the admin through the HTTP API, and the billing
summary matches hand-computed G702 figures to the cent at each step."""

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from paydraw.settings import Settings
from tests.conftest import new_user_headers
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    Paydraw,
    contact_token,
    messages_to,
    post,
    today,
    wait_for,
)

CONTACT = "billing@acme.example"


async def put(
    api: httpx.AsyncClient, path: str, headers: dict[str, str], body: Any, expect: int = 200
) -> Any:
    response = await api.put(path, json=body, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


async def summary(api: httpx.AsyncClient, admin: dict[str, str], commitment_id: str) -> Any:
    response = await api.get(f"/api/v1/commitments/{commitment_id}/billing-summary", headers=admin)
    return response.json()


async def accepted_contact(
    api: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpTestServer, period_id: str, cid: str
) -> dict[str, str]:
    """Invite the commitment, take the link from the email that arrives, accept with it."""
    before = len(messages_to(smtp, CONTACT))
    await post(api, f"/api/v1/billing-periods/{period_id}/invites", admin, commitment_ids=[cid])
    await wait_for(lambda: len(messages_to(smtp, CONTACT)) > before, what="the invite")
    contact = {"Authorization": f"Bearer {contact_token(messages_to(smtp, CONTACT)[-1])}"}
    await post(api, "/api/v1/contact/invitation/accept", contact)
    return contact


async def email_to_contact(smtp: SmtpTestServer, subject_part: str) -> str:
    """The plain text of the contact's one email whose subject has `subject_part`."""
    await wait_for(lambda: bool(messages_to(smtp, CONTACT, subject_part)), what=subject_part)
    [message] = messages_to(smtp, CONTACT, subject_part)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and message.get_body(preferencelist=("html",)) is not None
    return str(body.get_content())


def period_body(start: date, due: date) -> dict[str, str]:
    return {
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=29)).isoformat(),
        "due_date": due.isoformat(),
    }


def line_amounts(lines: dict[str, tuple[str, str]], ids: dict[str, str]) -> dict[str, Any]:
    return {
        "entry": {
            "mode": "per_line_amounts",
            "lines": [
                {"sov_line_id": ids[code], "work_this_period": work, "materials_stored": stored}
                for code, (work, stored) in lines.items()
            ],
        }
    }


class TestTwoPeriods:
    async def test_approve_as_noted_send_back_finalize_pay_and_release_retainage(
        self,
        on_dev_server: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        project = await post(api, "/api/v1/projects", admin, name="Harbor View Tower")
        await post(
            api,
            f"/api/v1/projects/{project['id']}/members",
            admin,
            email="pm@gc.example",
            role="reviewer",
        )
        reviewer = new_user_headers(engine, "pm@gc.example")
        commitment = await post(
            api,
            f"/api/v1/projects/{project['id']}/commitments",
            admin,
            number="SC-001",
            vendor_name="Acme Framing LLC",
            contacts=[{"email": CONTACT}],
            retainage={"percent": "10"},
            sov_lines=[
                {"code": "01", "description": "Mobilization", "scheduled_value": "5000.00"},
                {"code": "02", "description": "Framing", "scheduled_value": "60000.00"},
                {"code": "03", "description": "Windows", "scheduled_value": "35000.00"},
            ],
        )
        cid = commitment["id"]
        await post(api, f"/api/v1/commitments/{cid}/sov/approve", admin)
        await post(
            api,
            f"/api/v1/commitments/{cid}/change-orders",
            admin,
            number="CO#1",
            lines=[{"code": "04", "description": "CO#1 blocking", "amount": "10000.00"}],
        )
        ids = {
            line["code"]: line["id"]
            for line in (await api.get(f"/api/v1/commitments/{cid}", headers=admin)).json()[
                "sov_lines"
            ]
        }
        start = await today(env)

        # Period 1: the contact bills 25,000 of framing; the reviewer approves 24,000 as noted.
        period_1 = await post(
            api,
            f"/api/v1/projects/{project['id']}/billing-periods",
            admin,
            **period_body(start - timedelta(days=30), due=start + timedelta(days=5)),
        )
        contact = await accepted_contact(api, admin, smtp, period_1["id"], cid)
        draft = await put(
            api,
            "/api/v1/contact/pay-app/lines",
            contact,
            line_amounts({"01": ("5000.00", "0.00"), "02": ("25000.00", "0.00")}, ids),
            expect=201,
        )
        assert draft["status"] == "draft" and draft["number"] == 1
        submitted = await post(api, "/api/v1/contact/pay-app/submit", contact)
        assert submitted["status"] == "under_review"
        noted = await post(
            api,
            f"/api/v1/pay-apps/{draft['id']}/review",
            reviewer,
            decision="approve_as_noted",
            lines=[
                {
                    "sov_line_id": ids["02"],
                    "work_this_period": "24000.00",
                    "note": "field verified at 40%",
                }
            ],
        )
        assert noted["status"] == "approved"
        final_1 = await post(api, f"/api/v1/pay-apps/{draft['id']}/finalize", admin)
        assert final_1["summary"]["current_payment_due"] == "26100.00"
        paid = await post(
            api,
            f"/api/v1/pay-apps/{draft['id']}/payments",
            admin,
            amount="10000.00",
            method="check",
            reference="1042",
            paid_on=start.isoformat(),
        )
        assert paid["payment_status"] == "partially_paid"
        # The contact hears of the reviewer's change and of the payment, with a link back.
        noted_email = await email_to_contact(smtp, "approved as noted")
        assert (
            "- 02 Framing: $25,000.00 / $0.00 submitted, $24,000.00 / $0.00 approved" in noted_email
        )
        assert "(field verified at 40%)" in noted_email
        payment_email = await email_to_contact(smtp, "Payment recorded")
        assert "Amount: $10,000.00" in payment_email and "Method: check (1042)" in payment_email
        assert f"Date: {start.isoformat()}" in payment_email
        assert "Still due: $16,100.00" in payment_email
        assert "/contact?token=" in payment_email
        after_1 = await summary(api, admin, cid)
        assert after_1["certified_to_date"] == "26100.00"
        assert after_1["paid_to_date"] == "10000.00"
        assert after_1["retainage_held"] == "2900.00"
        await post(api, f"/api/v1/billing-periods/{period_1['id']}/close", admin)

        # Period 2: the DESIGN example; sent back once with a reason, resubmitted, approved.
        period_2 = await post(
            api,
            f"/api/v1/projects/{project['id']}/billing-periods",
            admin,
            **period_body(start, due=start + timedelta(days=25)),
        )
        contact = await accepted_contact(api, admin, smtp, period_2["id"], cid)
        second = await put(
            api,
            "/api/v1/contact/pay-app/lines",
            contact,
            line_amounts(
                {
                    "02": ("18000.00", "0.00"),
                    "03": ("7000.00", "8000.00"),
                    "04": ("2500.00", "0.00"),
                },
                ids,
            ),
            expect=201,
        )
        await post(api, "/api/v1/contact/pay-app/submit", contact)
        sent_back = await post(
            api,
            f"/api/v1/pay-apps/{second['id']}/review",
            reviewer,
            decision="revise",
            lines=[
                {
                    "sov_line_id": ids["03"],
                    "approved": False,
                    "reason": "Attach delivery tickets for the stored windows",
                }
            ],
        )
        assert sent_back["status"] == "revise_and_resubmit"
        await wait_for(
            lambda: any(
                "delivery tickets" in str(m.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
                for m in messages_to(smtp, CONTACT)
            ),
            what="the send-back email with its reason",
        )
        resubmitted = await post(api, "/api/v1/contact/pay-app/submit", contact)
        assert resubmitted["status"] == "under_review"
        await post(api, f"/api/v1/pay-apps/{second['id']}/review", reviewer, decision="approve")
        final_2 = await post(api, f"/api/v1/pay-apps/{second['id']}/finalize", admin)
        assert final_2["summary"]["total_completed_and_stored"] == "64500.00"
        assert final_2["summary"]["total_retainage"] == "6450.00"
        assert final_2["summary"]["previous_certificates"] == "26100.00"
        assert final_2["summary"]["current_payment_due"] == "31950.00"
        after_2 = await summary(api, admin, cid)
        assert after_2["certified_to_date"] == "58050.00"
        assert after_2["balance_to_finish_with_retainage"] == "51950.00"

        # A retainage release of 2,000.00, created on the contact's behalf.
        release = await post(
            api,
            f"/api/v1/billing-periods/{period_2['id']}/commitments/{cid}/pay-apps",
            admin,
            kind="retainage_release",
            retainage_release={"amount": "2000.00"},
        )
        await post(api, f"/api/v1/pay-apps/{release['id']}/submit", admin)
        await post(api, f"/api/v1/pay-apps/{release['id']}/review", reviewer, decision="approve")
        final_3 = await post(api, f"/api/v1/pay-apps/{release['id']}/finalize", admin)
        assert final_3["summary"]["current_payment_due"] == "2000.00"
        after_3 = await summary(api, admin, cid)
        assert after_3["retainage_released"] == "2000.00"
        assert after_3["retainage_balance"] == "4450.00"
        assert after_3["certified_to_date"] == "60050.00"
