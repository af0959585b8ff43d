"""The draw package's links on the pages, followed as a browser follows them: the pay-app page's
G702/G703, the contact page's, and the commitment page's billing report, each a download for whoever
may see the page and a 404 for anyone else."""

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from paydraw.settings import Settings
from tests.conftest import new_user_headers
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import Paydraw, contact_link, messages_to
from tests.workflows.test_staff_pages import CONTACT, VIEWER, Pages, submitted_pay_app


@pytest.fixture
def pages(
    on_dev_server: Paydraw, process_settings: Settings, engine: Engine, smtp: SmtpTestServer
) -> Pages:
    return Pages(on_dev_server, process_settings, engine, smtp)


def href(page_text: str, element_id: str) -> str:
    found = re.search(rf'href="([^"]+)" id="{element_id}"', page_text)
    assert found is not None, page_text
    return found[1].replace("&amp;", "&")


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


class TestTheLinks:
    async def test_the_pay_app_and_commitment_pages_link_their_papers(
        self, pages: Pages, admin: dict[str, str], smtp: SmtpTestServer
    ) -> None:
        pay_app_id, _, _ = await submitted_pay_app(pages.paydraw, admin, smtp)
        viewer = await pages.sign_in(VIEWER)

        page = await viewer.get(f"/pay-apps/{pay_app_id}")
        g702 = await viewer.get(href(page.text, "g702-pdf"))
        assert g702.status_code == 200
        assert g702.headers["content-type"] == "application/pdf"
        assert g702.headers["content-disposition"].startswith("attachment; filename=")
        assert "DRAFT" in text_of(g702.content)

        commitment = await pages.paydraw.api.get(f"/api/v1/pay-apps/{pay_app_id}", headers=admin)
        commitment_page = await viewer.get(f"/commitments/{commitment.json()['commitment_id']}")
        report = await viewer.get(href(commitment_page.text, "billing-report-csv"))
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
        assert report.text.splitlines()[1].startswith("1,")  # the pay app, not yet certified
        report_pdf = await viewer.get(href(commitment_page.text, "billing-report-pdf"))
        assert "BILLING REPORT" in text_of(report_pdf.content)

        new_user_headers(pages.engine, "someone@other-gc.example")  # a user, of no project here
        stranger = await pages.sign_in("someone@other-gc.example")
        refused = await stranger.get(f"/pay-apps/{pay_app_id}/g702.pdf")
        assert refused.status_code == 404 and "not available" in refused.text

    async def test_the_contact_page_links_their_own(
        self, pages: Pages, admin: dict[str, str], smtp: SmtpTestServer
    ) -> None:
        await submitted_pay_app(pages.paydraw, admin, smtp)
        link = contact_link(messages_to(smtp, CONTACT)[-1])
        page = await pages.paydraw.api.get(link.removeprefix("http://paydraw.test"))

        g702 = await pages.paydraw.api.get(href(page.text, "g702-pdf"))

        assert g702.status_code == 200
        assert g702.headers["content-type"] == "application/pdf"
        assert "DRAFT" in text_of(g702.content)
        forged = await pages.paydraw.api.get("/contact/pay-app/g702.pdf?token=forged")
        assert forged.status_code == 401
