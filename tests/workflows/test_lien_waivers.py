"""Lien waivers through the HTTP API and the commitment's workflow: a project that requires
them refuses a submission and a payment without them, takes them once the contact has signed
(or an admin has waived one, with a reason), and keeps the signed PDF whose hash is audited."""

import hashlib
import io
from datetime import UTC, datetime
from typing import Any

import httpx
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session, select

from paydraw.db.tables import AuditEvent
from paydraw.documents.pdf import families_of
from tests.conftest import new_user_headers
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    Paydraw,
    accept_invite,
    invited_period,
    messages_to,
    open_period,
    post,
    today,
    wait_for,
)

REQUIRED = ["conditional_progress", "unconditional_progress"]


async def fill(api: httpx.AsyncClient, contact: dict[str, str], **work: str) -> dict[str, Any]:
    """The contact's pay app with work this period on the lines named by code."""
    invitation = (await api.get("/api/v1/contact/invitation", headers=contact)).json()
    ids = {line["code"]: line["id"] for line in invitation["sov_lines"]}
    body = {
        "entry": {
            "mode": "per_line_amounts",
            "lines": [
                {"sov_line_id": ids[code], "work_this_period": amount}
                for code, amount in work.items()
            ],
        }
    }
    response = await api.put("/api/v1/contact/pay-app/lines", json=body, headers=contact)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def sign(
    api: httpx.AsyncClient, contact: dict[str, str], pay_app_id: str, kind: str, amount: str
) -> httpx.Response:
    signature = {
        "signer_name": "Dana Whitfield",
        "signer_title": "Controller",
        "signed_on": datetime.now(UTC).date().isoformat(),
        "amount": amount,
        "consent": True,
    }
    return await api.post(
        f"/api/v1/contact/pay-apps/{pay_app_id}/lien-waivers/{kind}/sign",
        json=signature,
        headers=contact,
    )


async def requirement(api: httpx.AsyncClient, contact: dict[str, str], kind: str) -> Any:
    [waivers] = (await api.get("/api/v1/contact/lien-waivers", headers=contact)).json()
    return next(item for item in waivers["requirements"] if item["kind"] == kind)


async def approve_and_finalize(
    api: httpx.AsyncClient, admin: dict[str, str], pay_app_id: str
) -> None:
    await post(api, f"/api/v1/pay-apps/{pay_app_id}/review", admin, decision="approve")
    await post(api, f"/api/v1/pay-apps/{pay_app_id}/finalize", admin)


def pay(today: Any, amount: str) -> dict[str, str]:
    return {"amount": amount, "method": "check", "reference": "2001", "paid_on": today.isoformat()}


class TestLienWaivers:
    async def test_submission_and_payment_wait_for_the_signed_waivers(
        self,
        on_dev_server: Paydraw,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        billing = await invited_period(
            env,
            api,
            admin,
            smtp,
            count=2,
            due_in_days=20,
            general_contractor="Harbor Builders Inc.",
            required_lien_waivers=REQUIRED,
        )
        contact = await accept_invite(api, smtp, billing.contacts[0])
        draft = await fill(api, contact, **{"01": "5000.00", "02": "10000.00"})

        # Submitting without the conditional waiver is refused, naming it.
        refused = await api.post("/api/v1/contact/pay-app/submit", headers=contact)
        assert refused.status_code == 409, refused.text
        assert (
            "conditional progress waiver for pay app #1 ($13,500.00)" in refused.json()["message"]
        )
        [missing] = refused.json()["missing_lien_waivers"]
        assert missing == {
            "kind": "conditional_progress",
            "pay_app_id": draft["id"],
            "pay_app_number": 1,
            "amount": "13500.00",
        }
        needed = await requirement(api, contact, "conditional_progress")
        assert (needed["state"], needed["amount"]) == ("missing", "13500.00")

        # A signature for an amount other than the draft's is refused; the draft's is taken,
        # and a second click answers the same waiver.
        stale = await sign(api, contact, draft["id"], "conditional_progress", "15000.00")
        assert stale.status_code == 409 and "now for $13,500.00" in stale.json()["message"]
        signed = await sign(api, contact, draft["id"], "conditional_progress", "13500.00")
        assert signed.status_code == 200, signed.text
        again = await sign(api, contact, draft["id"], "conditional_progress", "13500.00")
        assert again.json()["id"] == signed.json()["id"]
        waiver = signed.json()

        # The PDF kept is the one whose hash the audit trail holds, and it says what was waived.
        pdf = await api.get(f"/api/v1/lien-waivers/{waiver['id']}.pdf", headers=admin)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(pdf.content).hexdigest() == waiver["sha256"]
        with Session(engine) as session:
            [event] = session.exec(
                select(AuditEvent).where(AuditEvent.action == "sign_lien_waiver")
            ).all()
        assert event.actor == f"contact:{billing.contacts[0]}"
        assert event.detail["sha256"] == waiver["sha256"]
        assert event.detail["signer_name"] == "Dana Whitfield"
        assert event.detail["client_address"]
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        period = await api.get(f"/api/v1/billing-periods/{billing.period_id}", headers=admin)
        end_date = period.json()["period"]["end_date"]
        assert "Vendor 0" in text and "Harbor Builders Inc." in text
        assert "$13,500.00" in text and end_date in text
        assert "Dana Whitfield" in text and "statutory" in text
        assert families_of(pdf.content) == {"Liberation Sans"}
        mine = await api.get(f"/api/v1/contact/lien-waivers/{waiver['id']}.pdf", headers=contact)
        assert mine.content == pdf.content

        # Nobody else sees it: another commitment's contact, another company's staff.
        other = await accept_invite(api, smtp, billing.contacts[1])
        theirs = await api.get(f"/api/v1/contact/lien-waivers/{waiver['id']}.pdf", headers=other)
        assert theirs.status_code == 404
        stranger = new_user_headers(engine, "ap@other-gc.example")
        response = await api.get(f"/api/v1/lien-waivers/{waiver['id']}.pdf", headers=stranger)
        assert response.status_code == 404
        response = await sign(api, other, draft["id"], "conditional_progress", "13500.00")
        assert response.status_code == 404

        # Signed, the submission goes through; the first payment needs nothing more.
        submitted = await post(api, "/api/v1/contact/pay-app/submit", contact)
        assert submitted["status"] == "under_review"
        await approve_and_finalize(api, admin, draft["id"])
        day = await today(env)
        await post(api, f"/api/v1/pay-apps/{draft['id']}/payments", admin, **pay(day, "13500.00"))

        # The other commitment submits without a waiver once an admin waives it, with a reason.
        other_draft = await fill(api, other, **{"01": "1000.00"})
        path = f"/api/v1/pay-apps/{other_draft['id']}/lien-waivers/conditional_progress/waive"
        reason = "waiver received on paper"
        await post(
            api,
            f"/api/v1/projects/{billing.project_id}/members",
            admin,
            email="pm@gc.example",
            role="reviewer",
        )
        reviewer = new_user_headers(engine, "pm@gc.example")
        forbidden = await api.post(path, json={"reason": reason}, headers=reviewer)
        assert forbidden.status_code == 403
        waived = await post(api, path, admin, reason=reason)
        assert waived["requirements"][0]["state"] == "waived"
        assert waived["missing"] == []
        assert (await post(api, "/api/v1/contact/pay-app/submit", other))[
            "status"
        ] == "under_review"
        history = await api.get(f"/api/v1/pay-apps/{other_draft['id']}/history", headers=admin)
        [event] = [e for e in history.json()["items"] if e["action"] == "waive_lien_waiver"]
        assert event["reason"] == reason and event["actor"] == "user:ap@gc.example"
        await approve_and_finalize(api, admin, other_draft["id"])
        await post(api, f"/api/v1/billing-periods/{billing.period_id}/close", admin)

        # Next period: the payment waits for the unconditional waiver of the first payment.
        period_2 = await open_period(env, api, admin, billing.project_id, due_in_days=20)
        before = len(messages_to(smtp, billing.contacts[0]))
        await post(
            api,
            f"/api/v1/billing-periods/{period_2}/invites",
            admin,
            commitment_ids=[billing.commitment_ids[0]],
        )
        await wait_for(lambda: len(messages_to(smtp, billing.contacts[0])) > before, what="invite")
        contact = await accept_invite(api, smtp, billing.contacts[0])
        second = await fill(api, contact, **{"02": "20000.00"})
        await sign(api, contact, second["id"], "conditional_progress", "18000.00")
        await post(api, "/api/v1/contact/pay-app/submit", contact)
        await approve_and_finalize(api, admin, second["id"])
        refused = await api.post(
            f"/api/v1/pay-apps/{second['id']}/payments", json=pay(day, "18000.00"), headers=admin
        )
        assert refused.status_code == 409, refused.text
        assert (
            "unconditional progress waiver for pay app #1 ($13,500.00)"
            in (refused.json()["message"])
        )
        needed = await requirement(api, contact, "unconditional_progress")
        assert needed["covers_pay_app_id"] == draft["id"] and needed["state"] == "missing"
        signed = await sign(api, contact, second["id"], "unconditional_progress", "13500.00")
        assert signed.status_code == 200, signed.text
        assert signed.json()["pay_app_id"] == draft["id"]
        paid = await post(
            api, f"/api/v1/pay-apps/{second['id']}/payments", admin, **pay(day, "18000.00")
        )
        assert paid["payment_status"] == "paid"
        staff_view = await api.get(f"/api/v1/pay-apps/{second['id']}/lien-waivers", headers=admin)
        assert staff_view.json()["missing"] == []
        assert {item["state"] for item in staff_view.json()["requirements"]} == {"signed"}

    async def test_the_retainage_release_waits_for_the_final_waivers(
        self, on_dev_server: Paydraw, smtp: SmtpTestServer, admin: dict[str, str]
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        billing = await invited_period(
            env,
            api,
            admin,
            smtp,
            due_in_days=20,
            required_lien_waivers=["conditional_final", "unconditional_final"],
        )
        contact = await accept_invite(api, smtp, billing.contacts[0])
        first = await fill(api, contact, **{"02": "10000.00"})
        await post(api, "/api/v1/contact/pay-app/submit", contact)  # no progress waiver required
        await approve_and_finalize(api, admin, first["id"])
        day = await today(env)
        await post(api, f"/api/v1/pay-apps/{first['id']}/payments", admin, **pay(day, "9000.00"))

        release = await post(
            api,
            f"/api/v1/billing-periods/{billing.period_id}/commitments/"
            f"{billing.commitment_ids[0]}/pay-apps",
            admin,
            kind="retainage_release",
            retainage_release={"amount": "1000.00"},
        )
        refused = await api.post(f"/api/v1/pay-apps/{release['id']}/submit", headers=admin)
        assert refused.status_code == 409
        assert [waiver["kind"] for waiver in refused.json()["missing_lien_waivers"]] == [
            "conditional_final"
        ]
        # The unconditional final waiver waits for the certificate.
        early = await sign(api, contact, release["id"], "unconditional_final", "1000.00")
        assert early.status_code == 409 and "not finalized yet" in early.json()["message"]
        assert (await sign(api, contact, release["id"], "conditional_final", "1000.00")).is_success
        await post(api, f"/api/v1/pay-apps/{release['id']}/submit", admin)
        await approve_and_finalize(api, admin, release["id"])

        path = f"/api/v1/pay-apps/{release['id']}/payments"
        refused = await api.post(path, json=pay(day, "1000.00"), headers=admin)
        assert refused.status_code == 409
        assert "unconditional final waiver for pay app #2 ($1,000.00)" in refused.json()["message"]
        assert (
            await sign(api, contact, release["id"], "unconditional_final", "1000.00")
        ).is_success
        assert (await post(api, path, admin, **pay(day, "1000.00")))["payment_status"] == "paid"
