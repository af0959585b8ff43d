"""The invoice contact attaches a backup document in a real Chromium, on a phone-sized screen:
they choose the file, press Attach, see it listed and download it again; a file that is not
what its name says is refused with the reason."""

from pathlib import Path

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.attachments.conftest import Files
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


async def test_the_contact_attaches_a_delivery_ticket_on_a_phone(
    dev_server_env: WorkflowEnvironment,
    served: Served,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],
    tmp_path: Path,
) -> None:
    ticket = tmp_path / "delivery ticket 1041.pdf"
    ticket.write_bytes(Files.pdf("Delivery ticket 1041"))
    disguised = tmp_path / "invoice.pdf"
    disguised.write_bytes(Files.image("GIF"))
    api = served.api
    await invited_period(dev_server_env, api, admin, smtp, due_in_days=10)
    contact = await accept_invite(api, smtp, CONTACT)
    invitation = (await api.get("/api/v1/contact/invitation", headers=contact)).json()
    line = invitation["sov_lines"][0]["id"]
    entry = {
        "mode": "per_line_amounts",
        "lines": [{"sov_line_id": line, "work_this_period": "1000"}],
    }
    saved = await api.put("/api/v1/contact/pay-app/lines", json={"entry": entry}, headers=contact)
    assert saved.status_code == 201, saved.text
    link = contact_link(messages_to(smtp, CONTACT)[-1])

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(link)
        assert "No backup documents yet." in await page.inner_text("body")
        await page.get_by_label("Attach a file").set_input_files(str(ticket))
        await page.get_by_role("button", name="Attach", exact=True).click()
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "1-attached")
        assert await accessibility_problems(page) == []
        assert await fits_the_width(page)
        listed = page.locator("#attachment-list")
        assert "delivery ticket 1041.pdf" in await listed.inner_text()
        assert CONTACT in await listed.inner_text()

        async with page.expect_download() as downloading:
            await listed.get_by_role("link", name="delivery ticket 1041.pdf").click()
        download = await downloading.value
        assert download.suggested_filename == "delivery ticket 1041.pdf"
        assert Path(await download.path()).read_bytes() == ticket.read_bytes()

        await page.get_by_label("Attach a file").set_input_files(str(disguised))
        await page.get_by_role("button", name="Attach", exact=True).click()
        await page.wait_for_load_state()
        await snapshot(page, tmp_path, "2-refused")
        assert await accessibility_problems(page) == []
        alert = await page.inner_text("[role=alert]")
        assert "Please check file: its content is GIF" in alert
        await page.get_by_role("link", name="Back to your page").click()
        await page.wait_for_load_state()
        rows = page.locator("#attachment-list tbody tr")
        assert await rows.count() == 1

    files = (await api.get("/api/v1/contact/pay-app/attachments", headers=contact)).json()
    assert [row["name"] for row in files["attachments"]] == ["delivery ticket 1041.pdf"]
