"""The review round trip in a real Chromium, every step from the link in an email the test's SMTP
server received: two subcontractors bill (one on its page, by percent complete, from a phone);
the reviewer follows the "for review" email, signs in, approves one pay app as noted and sends
the other back with a reason; that contact follows the "revise" email, reads the reason, fixes
the line and submits again; the reviewer approves; the admin certifies and is paid in two parts;
each contact's page says where their pay app stands. Screenshots of each step are kept with the
test's files."""

from datetime import date
from pathlib import Path

from playwright.async_api import Browser, Page, expect
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.browser.conftest import Served
from tests.browser.steps import sign_in_from_email
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
NOTED = "billing@vendor-0.example"  # bills on the API; approved as noted
SENT_BACK = "billing@vendor-1.example"  # bills on the page; sent back, then paid
DESKTOP = {"width": 1280, "height": 900}
REASON = "Framing is 15% done on site, not 20%"


def staff_link(smtp: SmtpTestServer, address: str, subject: str) -> str:
    """The pay app's page in the latest such email to a staff member."""
    message = messages_to(smtp, address, subject)[-1]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return next(word for word in str(body.get_content()).split() if "/pay-apps/" in word)


async def arrived(smtp: SmtpTestServer, address: str, subject: str, count: int = 1) -> str:
    """The contact's link in the ``count``-th such email, once it has arrived."""
    await wait_for(
        lambda: len(messages_to(smtp, address, subject)) >= count, timeout=60, what=subject
    )
    return contact_link(messages_to(smtp, address, subject)[count - 1])


async def contact_opens(browser: Browser, link: str, folder: Path, name: str) -> Page:
    """The contact's page from an email's link on a phone, checked for axe and the width."""
    page = await browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
    await page.goto(link)
    await snapshot(page, folder, name)
    assert await accessibility_problems(page) == []
    assert await fits_the_width(page)
    return page


async def press(page: Page, form: str, button: str) -> None:
    """Press a form's button from the keyboard, and wait for the page it leads to."""
    await page.locator(form).get_by_role("button", name=button, exact=True).focus()
    async with page.expect_navigation():  # a key press does not wait for the page it posts
        await page.keyboard.press("Enter")


async def test_a_pay_app_is_approved_as_noted_another_sent_back_revised_and_paid(
    dev_server_env: WorkflowEnvironment,
    served: Served,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],
    tmp_path: Path,
) -> None:
    api = served.api
    async with chromium() as browser:
        invited = await invited_period(dev_server_env, api, admin, smtp, count=2, due_in_days=20)
        await post(
            api,
            f"/api/v1/projects/{invited.project_id}/members",
            admin,
            email=REVIEWER,
            role="reviewer",
        )
        # Vendor 0 bills per line through the API: $17,000.00.
        noted = await accept_invite(api, smtp, NOTED)
        lines = (await api.get("/api/v1/contact/invitation", headers=noted)).json()["sov_lines"]
        amounts = [
            {"sov_line_id": line["id"], "work_this_period": work}
            for line, work in zip(lines, ("5000", "12000"), strict=True)
        ]
        body = {"entry": {"mode": "per_line_amounts", "lines": amounts}}
        filled = await api.put("/api/v1/contact/pay-app/lines", headers=noted, json=body)
        assert filled.is_success, filled.text
        await post(api, "/api/v1/contact/pay-app/submit", noted)

        # Vendor 1 bills on the page, Framing at 20% complete, by keyboard on a phone.
        page = await contact_opens(
            browser, await arrived(smtp, SENT_BACK, "invite"), tmp_path, "1-invite"
        )
        await page.get_by_role("button", name="Accept").click()
        await page.wait_for_load_state()
        await page.locator("#way-percent > summary").focus()
        await page.keyboard.press("Enter")
        framing = page.get_by_label("Percent complete to date, 02 Framing")
        await framing.focus()
        await page.keyboard.type("20")
        await expect(page.locator("#preview-percent-total")).to_have_text("$12,000.00")
        await expect(page.locator("#preview-percent-due")).to_have_text("$10,800.00")
        await snapshot(page, tmp_path, "2-priced-by-percent")
        assert await accessibility_problems(page) == []
        assert await fits_the_width(page)
        await press(page, "#bill-percent", "Submit")
        assert await page.locator("#pay-app-status").inner_text() == "submitted, under review"

        # The reviewer follows the first "for review" email and signs in.
        for vendor in ("Vendor 0", "Vendor 1"):
            await wait_for(
                lambda v=vendor: bool(messages_to(smtp, REVIEWER, f"from {v}")),
                what=f"{vendor}'s pay app for review",
            )
        noted_link = staff_link(smtp, REVIEWER, "from Vendor 0")
        sent_back_link = staff_link(smtp, REVIEWER, "from Vendor 1")
        staff = await sign_in_from_email(browser, smtp, REVIEWER, noted_link, PHONE)
        assert await fits_the_width(staff)
        framing_line = staff.locator("fieldset", has_text="02 Framing")
        await framing_line.get_by_label("Approve at (as noted)").fill("10,000")
        await framing_line.get_by_label("Note on the change").fill("Two thirds of it is on site")
        await staff.get_by_role("button", name="Approve as noted").click()
        await staff.wait_for_load_state()
        await snapshot(staff, tmp_path, "3-approved-as-noted")
        assert await accessibility_problems(staff) == []
        assert "Approved" in await staff.inner_text("main")

        await staff.goto(sent_back_link)
        framing_line = staff.locator("fieldset", has_text="02 Framing")
        await framing_line.get_by_label("Reason to send it back").fill(REASON)
        await staff.get_by_role("button", name="Send back to revise").click()
        await staff.wait_for_load_state()
        await snapshot(staff, tmp_path, "4-sent-back")
        assert await accessibility_problems(staff) == []

        # Vendor 0's "approved as noted" email shows what changed.
        link = await arrived(smtp, NOTED, "approved as noted")
        page = await contact_opens(browser, link, tmp_path, "5-contact-approved-as-noted")
        assert await page.locator("#pay-app-status").inner_text() == "approved"
        reviews = await page.locator("#line-reviews").inner_text()
        assert "02 Framing: Two thirds of it is on site" in reviews
        assert "(you billed $12,000.00, approved $10,000.00)" in reviews
        assert await page.locator("#bill").count() == 0

        # Vendor 1 follows the "revise" email, reads the reason, fixes the line, submits again.
        link = await arrived(smtp, SENT_BACK, "revise")
        page = await contact_opens(browser, link, tmp_path, "6-contact-sent-back")
        assert await page.locator("#pay-app-status").inner_text() == "sent back for changes"
        assert (
            f"02 Framing (sent back): {REASON}" in await page.locator("#line-reviews").inner_text()
        )
        framing = page.get_by_label("Percent complete to date, 02 Framing")  # open as billed
        await framing.fill("15")
        await expect(page.locator("#preview-percent-total")).to_have_text("$9,000.00")
        await press(page, "#bill-percent", "Submit again")
        assert await page.locator("#pay-app-status").inner_text() == "submitted, under review"
        await snapshot(page, tmp_path, "7-contact-resubmitted")

        # The reviewer approves it from the new "for review" email.
        await wait_for(
            lambda: len(messages_to(smtp, REVIEWER, "from Vendor 1")) == 2,
            what="the resubmitted pay app for review",
        )
        await staff.goto(staff_link(smtp, REVIEWER, "from Vendor 1"))
        await staff.get_by_role("button", name="Approve", exact=True).click()
        await staff.wait_for_load_state()
        assert "Approved" in await staff.inner_text("main")

        # The admin certifies it and records a payment in two parts.
        admin_page = await sign_in_from_email(browser, smtp, ADMIN, sent_back_link, DESKTOP)
        await admin_page.get_by_label("Lock and certify it").check()
        await admin_page.get_by_role("button", name="Finalize & lock").click()
        await admin_page.wait_for_load_state()
        assert "$8,100.00 is still due." in await admin_page.inner_text("main")
        await admin_page.get_by_label("Amount").fill("3,000.00")
        await admin_page.get_by_label("Reference (check number, transfer id)").fill("1042")
        await admin_page.get_by_role("button", name="Record payment").click()
        await admin_page.wait_for_load_state()
        assert "Paid $3,000.00 so far; $5,100.00 still due." in await admin_page.inner_text("main")

        link = await arrived(smtp, SENT_BACK, "payment recorded")
        page = await contact_opens(browser, link, tmp_path, "8-contact-paid-in-part")
        assert await page.locator("#pay-app-status").inner_text() == "certified for payment"
        assert await page.locator("#still-due").inner_text() == "$5,100.00"
        assert await page.locator("#payments tbody tr").count() == 1

        await admin_page.get_by_role("button", name="Record payment").click()  # the rest
        await admin_page.wait_for_load_state()
        await snapshot(admin_page, tmp_path, "9-admin-paid")
        assert await admin_page.get_by_role("button", name="Record payment").count() == 0

        link = await arrived(smtp, SENT_BACK, "payment recorded", count=2)
        page = await contact_opens(browser, link, tmp_path, "10-contact-paid")
        assert await page.locator("#pay-app-status").inner_text() == "paid"
        paid = await page.locator("#pay-app").inner_text()
        assert f"Paid in full: $8,100.00, the last payment on {date.today().isoformat()}." in paid
        assert await page.locator("#payments tbody tr").count() == 2
        assert "$3,000.00" in paid and "$5,100.00" in paid
