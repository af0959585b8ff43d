"""The invoice contact signs a lien waiver in a real Chromium: the project requires the
conditional progress waiver, the contact's Submit is refused until they have read the drafted
waiver on their page and signed it there, and then the submission goes through. Screenshots of
each step are kept with the test's files."""

from pathlib import Path

from playwright.async_api import expect
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.browser.conftest import Served
from tests.support.browser import accessibility_problems, chromium, fits_the_width, snapshot
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    accept_invite,
    contact_link,
    invited_period,
    messages_to,
)

CONTACT = "billing@vendor-0.example"


async def test_the_contact_signs_the_conditional_waiver_then_submits(
    dev_server_env: WorkflowEnvironment,
    served: Served,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],
    tmp_path: Path,
) -> None:
    api = served.api
    await invited_period(
        dev_server_env,
        api,
        admin,
        smtp,
        due_in_days=10,
        general_contractor="Harbor GC",
        required_lien_waivers=["conditional_progress"],
    )
    contact = await accept_invite(api, smtp, CONTACT)
    body = {"entry": {"mode": "contract_amount", "amount": "10000.00"}}
    filled = await api.put("/api/v1/contact/pay-app/lines", headers=contact, json=body)
    assert filled.status_code == 201, filled.text

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(contact_link(messages_to(smtp, CONTACT)[-1]))
        by_line = page.locator("#bill")
        await by_line.get_by_role("button", name="Submit").click()
        await page.wait_for_load_state()
        alert = page.locator("[role=alert]")
        await expect(alert).to_contain_text("conditional progress waiver for pay app #1")
        await snapshot(page, tmp_path, "1-submit-refused-without-the-waiver")

        waiver = page.locator("#waiver-conditional_progress")
        await expect(waiver).to_contain_text("DRAFT — NOT SIGNED")
        await expect(waiver).to_contain_text("$9,000.00")
        await expect(waiver).to_contain_text("statutory forms")
        assert await accessibility_problems(page) == []
        assert await fits_the_width(page)
        await waiver.get_by_label("Your full name").fill("Ana Ruiz")
        await waiver.get_by_label("Your title").fill("Owner")
        await waiver.get_by_label("I agree to sign this waiver electronically").check()
        await snapshot(page, tmp_path, "2-waiver-filled-in")
        await waiver.get_by_role("button", name="Sign the waiver").click()
        await page.wait_for_load_state()
        await expect(waiver).to_contain_text("signed by Ana Ruiz")
        await expect(
            waiver.get_by_role("link", name="Download the signed waiver (PDF)")
        ).to_be_visible()
        await snapshot(page, tmp_path, "3-waiver-signed")
        assert await accessibility_problems(page) == []

        await page.locator("#bill").get_by_role("button", name="Submit").click()
        await page.wait_for_load_state()
        await expect(page.locator("#pay-app-status")).to_have_text("submitted, under review")
        await snapshot(page, tmp_path, "4-submitted")

    pay_app_id = filled.json()["id"]
    staff_view = await api.get(f"/api/v1/pay-apps/{pay_app_id}/lien-waivers", headers=admin)
    [requirement] = staff_view.json()["requirements"]
    assert requirement["state"] == "signed"
    assert requirement["signed"]["signer_name"] == "Ana Ruiz"
