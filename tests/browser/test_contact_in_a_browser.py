"""The invoice contact in a real Chromium, as a person: the invite email arrives at the SMTP
server, the contact opens its link on a phone-sized screen and answers with the page's buttons.
Screenshots of each step are kept with the test's files."""

from pathlib import Path

from playwright.async_api import expect
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.browser.conftest import Served
from tests.support.browser import accessibility_problems, chromium, fits_the_width, snapshot
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    contact_link,
    contact_token,
    invited_period,
    messages_to,
    post,
    wait_for,
)

CONTACT = "billing@vendor-0.example"


def link_in(smtp: SmtpTestServer, address: str, subject: str = "") -> str:
    """The contact's link in the latest such email."""
    return contact_link(messages_to(smtp, address, subject)[-1])


async def test_the_contact_opens_the_invite_link_and_accepts_on_a_phone(
    dev_server_env: WorkflowEnvironment,
    served: Served,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],
    tmp_path: Path,
) -> None:
    url, api = served.url, served.api
    period = await invited_period(dev_server_env, api, admin, smtp, due_in_days=10)
    [commitment_id] = period.commitment_ids
    link = link_in(smtp, CONTACT)
    assert link.startswith(url)

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(link)
        await snapshot(page, tmp_path, "1-invite")
        assert await accessibility_problems(page) == []
        status = page.locator("#invitation-status")
        assert await status.inner_text() == "invited, waiting for your answer"
        assert await fits_the_width(page)  # the SOV table scrolls in its own box
        sov = page.get_by_role("region", name="Schedule of values")
        assert await sov.evaluate("box => box.scrollWidth > box.clientWidth")

        await page.get_by_role("button", name="Accept").click()
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "2-accepted")
        assert await accessibility_problems(page) == []
        assert await status.inner_text() == "accepted"
        assert "You accepted this invitation." in await page.inner_text("body")
        assert await page.get_by_role("button", name="Accept").count() == 0
        assert await fits_the_width(page)

    board = await api.get(f"/api/v1/billing-periods/{period.period_id}", headers=admin)
    [row] = [r for r in board.json()["rows"] if r["commitment_id"] == commitment_id]
    assert row["invitation_status"] == "accepted"

    # The contact bills on the page: an amount over what is billable is refused next to
    # its line, with the amounts kept; then a right one is submitted.
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(link)
        mobilization = page.get_by_label("Work this period, 01 Mobilization")
        framing_work = page.get_by_label("Work this period, 02 Framing")
        await mobilization.fill("6000")
        await framing_work.fill("12000")
        # As the contact types, the server prices what they typed (htmx, no save).
        preview = page.locator("#preview")
        await expect(preview).to_contain_text("billable 5000.00, asked 6000.00")
        await mobilization.fill("500")
        await expect(page.locator("#preview-total")).to_have_text("$12,500.00")
        await expect(page.locator("#preview-due")).to_have_text("$11,250.00")
        await snapshot(page, tmp_path, "2b-priced-while-typing")
        assert await accessibility_problems(page) == []
        await mobilization.fill("6000")
        by_line = page.locator("#bill")
        await by_line.get_by_role("button", name="Submit").click()
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "3-over-billed")
        assert await accessibility_problems(page) == []
        assert await mobilization.get_attribute("aria-invalid") == "true"
        assert "billable 5000.00, asked 6000.00" in await page.locator("#bill").inner_text()
        assert await framing_work.input_value() == "12000"
        assert "Please check the amount marked below" in await page.inner_text("body")
        assert await fits_the_width(page)

        # The other way to bill: one figure for the whole contract, spread by the server
        # over the lines by their scheduled values.
        # (behind its own heading: a keyboard opens it as well as a tap).
        await page.get_by_text("One figure for the whole contract").focus()
        await page.keyboard.press("Enter")
        whole = page.locator("#bill-whole")
        await whole.get_by_label("Amount of work this period").check()
        await whole.get_by_label("Percent or amount").fill("130,000")
        await whole.get_by_role("button", name="Save draft").click()
        await page.wait_for_load_state()
        assert "Please check" in await page.inner_text("[role=alert]")
        await whole.get_by_label("Percent or amount").fill("13,000")
        await whole.get_by_role("button", name="Save draft").click()
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "3b-whole-contract-spread")
        assert await accessibility_problems(page) == []
        assert await mobilization.input_value() == "1000.00"
        assert await framing_work.input_value() == "12000.00"
        assert await page.locator("#pay-app-status").inner_text() == "a draft, not submitted yet"

        await mobilization.fill("")
        await by_line.get_by_role("button", name="Submit").click()
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "4-submitted")
        assert await accessibility_problems(page) == []
        status_now = await page.locator("#pay-app-status").inner_text()
        assert status_now == "submitted, under review"
        assert "$12,000.00" in await page.locator("#pay-app").inner_text()
        assert await page.locator("#bill").count() == 0  # nothing to change while reviewed

    contact = {"Authorization": f"Bearer {contact_token(messages_to(smtp, CONTACT)[0])}"}
    mine = (await api.get("/api/v1/contact/pay-app", headers=contact)).json()
    framing = next(line["sov_line_id"] for line in mine["lines"] if line["code"] == "02")
    assert mine["status"] == "under_review"
    assert mine["summary"]["total_completed_and_stored"] == "12000.00"
    reason = "Framing is 15% done on site, not 20%: bill 9,000.00"
    await post(
        api,
        f"/api/v1/pay-apps/{mine['id']}/review",
        admin,
        decision="revise",
        lines=[{"sov_line_id": framing, "approved": False, "reason": reason}],
    )
    await wait_for(
        lambda: bool(messages_to(smtp, CONTACT, "revise")), timeout=60, what="the revise email"
    )

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(link_in(smtp, CONTACT, "revise"))
        await snapshot(page, tmp_path, "5-sent-back")
        assert await accessibility_problems(page) == []
        assert await page.locator("#pay-app-status").inner_text() == "sent back for changes"
        lines = await page.locator("#line-reviews").inner_text()
        assert "02 Framing (sent back): " + reason in lines
        assert "$12,000.00" in await page.locator("#pay-app").inner_text()
        assert await fits_the_width(page)
        # The form is open again to submit anew, and the page reads as well on a desktop.
        assert await page.locator("#bill").get_by_role("button", name="Submit again").count() == 1
        await page.set_viewport_size({"width": 1280, "height": 900})
        await snapshot(page, tmp_path, "6-sent-back-desktop")
        assert await accessibility_problems(page) == []
        assert await fits_the_width(page)
