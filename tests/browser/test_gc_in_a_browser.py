"""The general contractor in a real Chromium, as a person: signs in from the emailed link,
creates a project and two commitments with their SOVs, approves both, opens a billing period,
ticks both on the board and sends the invites; the banner and the counts say so, and the invite
emails arrive. Screenshots of each step are kept with the test's files."""

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine

from tests.browser.conftest import Served
from tests.browser.steps import sign_in_from_email
from tests.support.browser import accessibility_problems, chromium, fits_the_width, snapshot
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import messages_to, wait_for

ADMIN = "ap@gc.example"
DESKTOP = {"width": 1280, "height": 900}
VENDORS = {
    "SC-101": ("Acme Framing", "billing@acme.example", [("01", "Framing", "60,000.00")]),
    "SC-102": (
        "Bayline Electric",
        "ar@bayline.example",
        [("01", "Rough-in", "20000"), ("02", "Fixtures", "$12,500.50")],
    ),
}


async def test_the_gc_sets_up_a_project_and_sends_invites(
    served: Served,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],  # the GC's staff user exists
    tmp_path: Path,
) -> None:
    url = served.url
    async with chromium() as browser:
        page = await sign_in_from_email(
            browser, smtp, ADMIN, f"{url}/", DESKTOP, lands=f"{url}/projects"
        )
        await page.get_by_label("Name").fill("Harbor View Tower")
        await page.get_by_label("General contractor").fill("Bayline Builders")
        await page.get_by_role("button", name="Create project").click()
        await page.wait_for_load_state()
        assert await page.inner_text("h1") == "Harbor View Tower"

        for number, (vendor, contact, lines) in VENDORS.items():
            await page.get_by_label("Number", exact=True).fill(number)
            await page.get_by_label("Vendor", exact=True).fill(vendor)
            await page.get_by_label("Invoice contact's email").fill(contact)
            for row, (code, description, value) in enumerate(lines, start=1):
                await page.get_by_label(f"Line {row} code").fill(code)
                await page.get_by_label(f"Line {row} description").fill(description)
                await page.get_by_label(f"Line {row} scheduled value").fill(value)
            await page.get_by_role("button", name="Add subcontract").click()
            await page.wait_for_load_state()
        await snapshot(page, tmp_path, "1-project-with-commitments")
        assert await accessibility_problems(page) == []
        commitments = page.get_by_role("region", name="Subcontracts, scrolls sideways")
        table = await commitments.inner_text()
        assert "Acme Framing" in table and "$60,000.00" in table
        assert "Bayline Electric" in table and "$32,500.50" in table

        for number in VENDORS:
            await page.get_by_role("link", name=number, exact=True).click()
            await page.wait_for_load_state()
            await page.get_by_role("button", name="Approve the schedule of values").click()
            await page.wait_for_load_state()
            assert "approved" in await page.inner_text("h2 .badge")
            await page.get_by_role("link", name="Harbor View Tower").click()
            await page.wait_for_load_state()

        today = date.today()
        await page.get_by_label("Starts", exact=True).fill(today.isoformat())
        await page.get_by_label("Ends", exact=True).fill((today + timedelta(days=29)).isoformat())
        await page.get_by_label("Due", exact=True).fill((today + timedelta(days=20)).isoformat())
        await page.get_by_role("button", name="Open billing period").click()
        await page.wait_for_load_state()
        assert await page.inner_text("#count-not_invited") == "2"
        assert await page.inner_text("#count-invited") == "0"

        for number, (vendor, _, _) in VENDORS.items():
            await page.get_by_label(f"Invite {number} {vendor}").check()
        await page.get_by_role("button", name="Send invites").click()
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "2-invites-sent")
        assert await accessibility_problems(page) == []
        assert "2 invited." in await page.inner_text("#banner")
        assert await page.inner_text("#count-invited") == "2"
        assert await page.inner_text("#count-not_invited") == "0"

        # Ticking one again is refused, with its reason in the banner.
        await page.get_by_label("Invite SC-101 Acme Framing").check()
        await page.get_by_role("button", name="Send invites").click()
        await page.wait_for_load_state()
        banner = await page.inner_text("#banner")
        assert "0 invited. 1 not invited:" in banner
        assert "SC-101: already invited (invited)" in banner

        await page.get_by_label("Vendor or number").fill("bayline")
        await page.get_by_role("button", name="Filter").click()
        await page.wait_for_load_state()
        rows = page.get_by_role("region", name="One row per subcontract, scrolls sideways")
        assert "Bayline Electric" in await rows.inner_text()
        assert "Acme Framing" not in await rows.inner_text()

        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await phone.context.add_cookies(await page.context.cookies())
        await phone.goto(page.url)
        await snapshot(phone, tmp_path, "3-board-on-a-phone")
        assert await fits_the_width(phone)

        for _, contact, _ in VENDORS.values():
            await wait_for(lambda c=contact: bool(messages_to(smtp, c, "invite")), what="invites")
