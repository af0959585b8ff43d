"""Staff in a real Chromium, as people: the reviewer follows the "for review" email's link, is
asked to sign in, follows the emailed sign-in link and approves the pay app on a phone; the admin
signs in on a desktop, finalizes it with the confirm and records a payment in two parts; the
contact's page then says it is paid; both download the same certificate (G702/G703 PDF) from
their pages. Screenshots of each step are kept with the test's files."""

from pathlib import Path

from playwright.async_api import Page
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.browser.conftest import Served
from tests.browser.steps import link_in, sign_in_from_email
from tests.support.browser import PHONE, accessibility_problems, chromium, fits_the_width, snapshot
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    accept_invite,
    contact_link,
    invited_period,
    messages_to,
    post,
    wait_for,
)

ADMIN = "ap@gc.example"
REVIEWER = "pm@gc.example"
CONTACT = "billing@vendor-0.example"
DESKTOP = {"width": 1280, "height": 900}


async def test_the_reviewer_approves_and_the_admin_certifies_and_pays(
    dev_server_env: WorkflowEnvironment,
    served: Served,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],
    tmp_path: Path,
) -> None:
    url, api = served.url, served.api
    invited = await invited_period(dev_server_env, api, admin, smtp, due_in_days=20)
    members = f"/api/v1/projects/{invited.project_id}/members"
    await post(api, members, admin, email=REVIEWER, role="reviewer")
    contact = await accept_invite(api, smtp, CONTACT)
    body = {"entry": {"mode": "contract_percent", "percent": "10"}}
    filled = await api.put("/api/v1/contact/pay-app/lines", headers=contact, json=body)
    assert filled.is_success, filled.text
    await post(api, "/api/v1/contact/pay-app/submit", contact)
    await wait_for(lambda: bool(messages_to(smtp, REVIEWER, "for review")), what="review")
    review_link = link_in(smtp, REVIEWER, "for review", "/pay-apps/")
    assert review_link.startswith(url)

    async with chromium() as browser:
        page = await sign_in_from_email(browser, smtp, REVIEWER, review_link, PHONE)
        await snapshot(page, tmp_path, "1-reviewer-pay-app")
        assert await accessibility_problems(page) == []
        assert "Under review" in await page.inner_text("main")
        assert await fits_the_width(page)  # the G703 table scrolls in its own box
        g703 = page.get_by_role("region", name="Continuation sheet, scrolls sideways")
        assert await g703.evaluate("box => box.scrollWidth > box.clientWidth")
        assert await page.get_by_role("button", name="Finalize & lock").count() == 0

        await page.get_by_role("button", name="Approve", exact=True).click()
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "2-approved")
        assert await accessibility_problems(page) == []
        assert "Approved" in await page.inner_text("main")
        assert await page.get_by_role("button", name="Approve", exact=True).count() == 0
        for other in ("Waiting for me", "Projects"):
            await page.get_by_role("link", name=other).click()
            await page.wait_for_load_state()
            assert await accessibility_problems(page) == []
            assert await fits_the_width(page)
        assert "Harbor View Tower" in await page.inner_text("main")

        page = await sign_in_from_email(browser, smtp, ADMIN, review_link, DESKTOP)
        finalize = page.get_by_role("button", name="Finalize & lock")
        await finalize.click()  # without the confirm: refused, and said so on the page
        await page.wait_for_load_state()
        assert "tick the box to lock and certify it" in await page.inner_text("[role=alert]")
        await page.get_by_label("Lock and certify it").check()
        await page.get_by_role("button", name="Finalize & lock").click()
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "3-certified")
        assert await accessibility_problems(page) == []
        assert "$5,850.00 is still due." in await page.inner_text("main")
        certificate = await downloaded(page, "SC-0000-application-1-G702.pdf")
        assert b"%PDF" in certificate[:8]

        await page.get_by_label("Amount").fill("850.00")
        await page.get_by_label("Reference (check number, transfer id)").fill("1042")
        await page.get_by_role("button", name="Record payment").click()
        await page.wait_for_load_state()
        assert "Paid $850.00 so far; $5,000.00 still due." in await page.inner_text("main")
        await page.get_by_role("button", name="Record payment").click()  # the rest
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "4-paid")
        assert await accessibility_problems(page) == []
        assert await page.get_by_role("button", name="Record payment").count() == 0

        # The contact's page, from their payment email, says it is paid.
        paid = "payment recorded"
        await wait_for(lambda: len(messages_to(smtp, CONTACT, paid)) == 2, what="payments")
        contact_page = await browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
        await contact_page.goto(contact_link(messages_to(smtp, CONTACT, paid)[-1]))
        await snapshot(contact_page, tmp_path, "5-contact-sees-paid")
        assert await accessibility_problems(contact_page) == []
        assert "Paid" in await contact_page.inner_text("main")
        # The contact downloads the same certificate from their page.
        assert await downloaded(contact_page, "SC-0000-application-1-G702.pdf") == certificate


async def downloaded(page: Page, file_name: str) -> bytes:
    """What the page's G702/G703 link downloads, checked to be that file."""
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download the G702/G703 (PDF)").click()
    download = await downloading.value
    assert download.suggested_filename == file_name
    return Path(await download.path()).read_bytes()
