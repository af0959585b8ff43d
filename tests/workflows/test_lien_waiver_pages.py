"""Lien waivers in the pages: the GC chooses them in the project's settings, the contact reads
the drafted waiver on their page and signs it there, the board marks the pay app still missing
one, and the staff's pay-app page lists them and lets an admin waive one with a reason."""

import html
import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine

from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    Paydraw,
    accept_invite,
    contact_link,
    invited_period,
    messages_to,
    post,
)
from tests.workflows.test_staff_pages import Pages, csrf_of


@pytest.fixture
def pages(
    on_dev_server: Paydraw, process_settings: Settings, engine: Engine, smtp: SmtpTestServer
) -> Pages:
    return Pages(on_dev_server, process_settings, engine, smtp)


def hidden(page: httpx.Response, form_action: str, name: str) -> str:
    """The value of a hidden field of the first form posting to `form_action`."""
    form = page.text.split(f'action="{form_action}"', 1)[1].split("</form>", 1)[0]
    found = re.search(rf'name="{name}" value="([^"]*)"', form)
    assert found is not None, form
    return html.unescape(found[1])


async def fill(api: httpx.AsyncClient, contact: dict[str, str], amount: str) -> str:
    body = {"entry": {"mode": "contract_amount", "amount": amount}}
    created = await api.put("/api/v1/contact/pay-app/lines", headers=contact, json=body)
    assert created.status_code in (200, 201), created.text
    return str(created.json()["id"])


class TestLienWaiverPages:
    async def test_choose_sign_mark_and_waive(
        self, pages: Pages, admin: dict[str, str], smtp: SmtpTestServer
    ) -> None:
        paydraw = pages.paydraw
        api = paydraw.api
        billing = await invited_period(
            paydraw.env, api, admin, smtp, count=2, due_in_days=20, general_contractor="Harbor GC"
        )
        browser = await pages.sign_in("ap@gc.example")

        # The admin requires the conditional progress waiver in the project's settings.
        project_page = await browser.get(f"/projects/{billing.project_id}")
        assert "Lien waivers required" in project_page.text
        saved = await browser.post(
            f"/projects/{billing.project_id}/settings",
            data={
                "csrf_token": csrf_of(project_page),
                "default_retainage_percent": "10",
                "overbilling_policy": "block",
                "reminder_offsets_days": "7, 1",
                "terminology": "general_contractor",
                "currency": "USD",
                "waiver-conditional_progress": "yes",
            },
        )
        assert saved.status_code == 303, saved.text
        project = (await api.get(f"/api/v1/projects/{billing.project_id}", headers=admin)).json()
        assert project["required_lien_waivers"] == ["conditional_progress"]

        # Both contacts bill; the board marks both pay apps as missing their waiver.
        first = await accept_invite(api, smtp, billing.contacts[0])
        second = await accept_invite(api, smtp, billing.contacts[1])
        await fill(api, first, "10000.00")
        other_pay_app = await fill(api, second, "5000.00")
        board = await browser.get(f"/billing-periods/{billing.period_id}")
        assert board.text.count("waiver missing") == 2

        # The first contact reads the draft on their page and signs it there.
        page_path = contact_link(messages_to(smtp, billing.contacts[0])[-1]).removeprefix(
            "http://paydraw.test"
        )
        contact_page = await api.get(page_path)
        assert "Conditional waiver and release on progress payment" in contact_page.text
        assert "DRAFT — NOT SIGNED" in contact_page.text
        assert "Vendor 0" in contact_page.text and "$9,000.00" in contact_page.text
        assert "statutory forms" in contact_page.text
        action = "/contact/lien-waivers/sign"
        form = {
            name: hidden(contact_page, action, name)
            for name in ("token", "idempotency_key", "pay_app_id", "kind", "amount")
        }
        today = datetime.now(UTC).date().isoformat()
        unsigned = await api.post(
            action,
            data=form | {"signer_name": "Ana Ruiz", "signer_title": "Owner", "signed_on": today},
        )
        assert unsigned.status_code == 422 and "agree to sign electronically" in unsigned.text
        signature = {
            "signer_name": "Ana Ruiz",
            "signer_title": "Owner",
            "signed_on": today,
            "consent": "yes",
        }
        signed = await api.post(action, data=form | signature)
        assert signed.status_code == 303, signed.text
        twice = await api.post(action, data=form | signature)  # a double click: the same one
        assert twice.status_code == 303, twice.text
        contact_page = await api.get(page_path)
        assert "DRAFT — NOT SIGNED" not in contact_page.text
        assert "signed</span> by Ana Ruiz" in contact_page.text
        download = re.search(
            r'href="(/contact/lien-waivers/[^"]+\.pdf\?token=[^"]+)"', contact_page.text
        )
        assert download is not None
        pdf = await api.get(html.unescape(download[1]))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert "attachment" in pdf.headers["content-disposition"]

        # Only the other pay app is still marked on the board.
        board = await browser.get(f"/billing-periods/{billing.period_id}")
        assert board.text.count("waiver missing") == 1

        # The staff's pay-app page: missing, then waived by the admin with a reason.
        pay_app_page = await browser.get(f"/pay-apps/{other_pay_app}")
        assert 'id="lien-waivers"' in pay_app_page.text and "missing" in pay_app_page.text
        waived = await browser.post(
            f"/pay-apps/{other_pay_app}/lien-waivers/waive",
            data={
                "csrf_token": csrf_of(pay_app_page),
                "kind": "conditional_progress",
                "reason": "signed on paper at the site meeting",
            },
        )
        assert waived.status_code == 303, waived.text
        pay_app_page = await browser.get(f"/pay-apps/{other_pay_app}")
        assert "waived</span> by ap@gc.example: signed on paper at the site meeting" in (
            pay_app_page.text
        )
        board = await browser.get(f"/billing-periods/{billing.period_id}")
        assert "waiver missing" not in board.text
        commitment_page = await browser.get(f"/commitments/{billing.commitment_ids[1]}")
        assert "waived a required lien waiver: signed on paper at the site meeting" in (
            commitment_page.text
        )
        submitted = await post(api, "/api/v1/contact/pay-app/submit", second)
        assert submitted["status"] == "under_review"
