"""The G702/G703 and the billing report through the HTTP API: who may download them (as who may
read the pay app or the commitment; anyone else gets a 404), how they are served, and the report's
figures."""

import csv
import io
import re
from decimal import Decimal

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session

from paydraw.commitments.schemas import (
    ChangeOrderLineIn,
    CommitmentCreate,
    ContactIn,
    RetainageIn,
    SovLineIn,
)
from paydraw.commitments.service import approve_sov, create_commitment
from paydraw.db.tables import Invitation
from paydraw.documents.pdf import families_of
from paydraw.invitations.tokens import ContactClaim, issue
from paydraw.pay_apps.schemas import PayAppPublic
from paydraw.projects.schemas import MemberAdd
from paydraw.projects.service import add_member
from paydraw.settings import Settings
from tests.conftest import new_user_headers
from tests.pay_apps.builders import CONTACT_EMAIL, Job, design_job
from tests.pay_apps.test_certificate_pdf import design_example


def text_of(pdf: bytes) -> str:
    return "\n".join(
        re.sub(r"[ \t]+", " ", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages
    )


def contact_headers(job: Job, settings: Settings, email: str = CONTACT_EMAIL) -> dict[str, str]:
    """The invoice contact's signed link for the job's open period, as the invite email has it."""
    period_id = job.periods[-1]

    def invited(session: Session) -> None:
        session.add(
            Invitation(period_id=period_id, commitment_id=job.commitment_id, status="accepted")
        )

    job.run(invited)
    token = issue(settings, ContactClaim(job.commitment_id, period_id, email))
    return {"Authorization": f"Bearer {token}"}


def assert_pdf_download(response: object) -> bytes:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-type"] == "application/pdf"
    assert re.fullmatch(
        r'attachment; filename="[A-Za-z0-9-]+\.pdf"', headers["content-disposition"]
    )
    content: bytes = response.content  # type: ignore[attr-defined]
    assert content.startswith(b"%PDF")
    return content


class TestTheG702Download:
    def test_staff_of_the_project_download_it_others_get_404(
        self, client: TestClient, engine: Engine, admin: dict[str, str]
    ) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "30000.00"})
        job.run(
            add_member,
            job.admin,
            job.project_id,
            MemberAdd(email="lender@bank.example", role="viewer"),
        )
        viewer = new_user_headers(engine, "lender@bank.example")
        outsider = new_user_headers(engine, "someone@other-gc.example")
        path = f"/api/v1/pay-apps/{pay_app.id}/g702.pdf"

        pdf = assert_pdf_download(client.get(path, headers=admin))
        assert "DRAFT" in text_of(pdf)
        by_viewer = client.get(path, headers=viewer)
        assert by_viewer.headers["content-disposition"] == (
            'attachment; filename="SC-001-application-1-G702.pdf"'
        )
        assert client.get(path, headers=outsider).status_code == 404
        assert client.get(path, headers=outsider).json()["error"] == "not_found"
        assert client.get("/api/v1/pay-apps/pap_nothing/g702.pdf", headers=admin).status_code == 404
        assert client.get(path).status_code == 401

    def test_the_certified_pdf_is_the_one_kept(
        self, client: TestClient, engine: Engine, admin: dict[str, str]
    ) -> None:
        job = design_job(engine)
        second = design_example(job)
        job.certify(second.id)

        first_download = assert_pdf_download(
            client.get(f"/api/v1/pay-apps/{second.id}/g702.pdf", headers=admin)
        )
        again = client.get(f"/api/v1/pay-apps/{second.id}/g702.pdf", headers=admin).content

        assert again == first_download
        text = text_of(first_download)
        assert "DRAFT" not in text
        assert re.search(r"8\. Current payment due \$31,950\.00", text)

    def test_the_contact_downloads_their_own_and_nobody_elses(
        self, client: TestClient, engine: Engine, settings: Settings
    ) -> None:
        job = design_job(engine)
        headers = contact_headers(job, settings)
        path = "/api/v1/contact/pay-app/g702.pdf"
        assert client.get(path, headers=headers).status_code == 404  # nothing billed yet

        pay_app = job.create({"02": "30000.00"})
        job.certify(pay_app.id)
        pdf = assert_pdf_download(client.get(path, headers=headers))
        assert "$30,000.00" in text_of(pdf)
        staff = new_user_headers(engine, "ap@gc.example")
        assert pdf == client.get(f"/api/v1/pay-apps/{pay_app.id}/g702.pdf", headers=staff).content

        # A contact of another commitment of the same project holds a link to their own only.
        other = other_commitment(job)
        claim = ContactClaim(other, job.periods[-1], "billing@other.example")
        stranger = {"Authorization": "Bearer " + issue(settings, claim)}
        assert client.get(path, headers=stranger).status_code == 404
        assert client.get(path, headers={"Authorization": "Bearer forged"}).status_code == 401


def other_commitment(job: Job) -> str:
    def create(session: Session) -> str:
        commitment = create_commitment(
            session,
            job.admin,
            job.project_id,
            CommitmentCreate(
                number="SC-002",
                vendor_name="Other Glazing Inc",
                contacts=[ContactIn(email="billing@other.example")],
                retainage=RetainageIn(percent=10),
                sov_lines=[SovLineIn(code="01", description="Glass", scheduled_value=1000)],
            ),
        )
        approve_sov(session, job.admin, commitment.id)
        session.add(
            Invitation(period_id=job.periods[-1], commitment_id=commitment.id, status="accepted")
        )
        return commitment.id

    return job.run(create)


COLUMNS = (
    "application_number",
    "status",
    "completed_and_stored_to_date",
    "retainage_held",
    "retainage_released",
    "amount_certified",
    "paid",
    "balance_due",
)


class TestTheBillingReport:
    def test_every_pay_app_with_what_was_certified_paid_and_owed(
        self, client: TestClient, engine: Engine, admin: dict[str, str]
    ) -> None:
        job = design_job(engine)
        first = job.create({"01": "5000", "02": "24000"})
        job.certify(first.id)
        job.pay(first.id, "26100.00")
        second = design_example_second(job)
        job.certify(second.id)
        job.pay(second.id, "10000.00")

        response = client.get(
            f"/api/v1/commitments/{job.commitment_id}/billing-report.csv", headers=admin
        )

        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"].startswith(
            'attachment; filename="SC-001-billing-report-'
        )
        rows = list(csv.DictReader(io.StringIO(response.text)))
        figures = [tuple(row[name] for name in COLUMNS) for row in rows]
        assert figures == [
            ("1", "paid", "29000.00", "2900.00", "0.00", "26100.00", "26100.00", "0.00"),
            ("2", "finalized", "64500.00", "6450.00", "0.00", "31950.00", "10000.00", "21950.00"),
            ("total", "", "", "", "", "58050.00", "36100.00", "21950.00"),
        ]

        pdf = client.get(
            f"/api/v1/commitments/{job.commitment_id}/billing-report.pdf", headers=admin
        )
        report = assert_pdf_download(pdf)
        text = text_of(report)
        assert re.search(r"Total \$58,050\.00 \$36,100\.00 \$21,950\.00", text)
        assert re.search(r"Contract sum to date \$110,000\.00", text)
        assert re.search(r"Retainage still held \$6,450\.00", text)
        assert families_of(report) == {"Liberation Sans"}

    def test_a_user_without_a_role_on_the_project_gets_404(
        self, client: TestClient, engine: Engine
    ) -> None:
        job = design_job(engine)
        outsider = new_user_headers(engine, "someone@other-gc.example")
        for extension in ("pdf", "csv"):
            path = f"/api/v1/commitments/{job.commitment_id}/billing-report.{extension}"
            assert client.get(path, headers=outsider).status_code == 404


def design_example_second(job: Job) -> PayAppPublic:
    """DESIGN.md's application #2, once #1 is certified (and paid)."""
    job.change_order(
        "CO-1", ChangeOrderLineIn(code="04", description="CO#1 blocking", amount=Decimal(10000))
    )
    job.period()
    return job.create({"02": "18000", "03": ("7000", "8000"), "04": "2500"})


class TestTheNotarySetting:
    def test_an_admin_turns_it_on_and_the_certificate_carries_the_block(
        self, client: TestClient, engine: Engine, admin: dict[str, str]
    ) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "30000.00"})
        path = f"/api/v1/pay-apps/{pay_app.id}/g702.pdf"
        assert "Notary public" not in text_of(client.get(path, headers=admin).content)

        changed = client.patch(
            f"/api/v1/projects/{job.project_id}", json={"notary_required": True}, headers=admin
        )

        assert changed.status_code == 200, changed.text
        assert changed.json()["notary_required"] is True
        assert "Notary public" in text_of(client.get(path, headers=admin).content)
        refused = client.patch(
            f"/api/v1/projects/{job.project_id}", json={"notary_required": "maybe"}, headers=admin
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "notary_required"
