"""The G703 lines and the board as CSV and .xlsx: read back (csv, openpyxl) and compared with
their JSON twins to the cent, under the same 404 rules."""

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from paydraw.commitments.schemas import ChangeOrderLineIn
from paydraw.db.engine import session_scope
from paydraw.db.tables import Invitation
from paydraw.invitations.tokens import ContactClaim, issue
from paydraw.projects import service as projects
from paydraw.projects.schemas import MemberAdd
from paydraw.settings import Settings
from tests.api.helpers import create_project
from tests.conftest import new_user_headers
from tests.pay_apps.builders import ADMIN_EMAIL, CONTACT_EMAIL, Job, design_job

CENT = Decimal("0.01")
G703_FIELDS = {
    "C Scheduled value": "scheduled_value",
    "D From previous application": "from_previous",
    "E This period": "this_period",
    "F Materials presently stored": "materials_stored",
    "G Total completed and stored to date": "completed_and_stored",
    "G/C %": "percent_complete",
    "H Balance to finish": "balance_to_finish",
    "I Retainage": "retainage",
}
TRICK = '=HYPERLINK("http://evil.example","Blocking")'


def cents(value: Any) -> Decimal:
    """A figure read back from CSV text or a workbook's number cell, to the cent."""
    return Decimal(str(value)).quantize(CENT)


@pytest.fixture
def job(engine: Engine) -> Job:
    """DESIGN.md's worked example: application #2 bills $31,950.00 due, with a change order
    whose description a spreadsheet would take for a formula."""
    job = design_job(engine)
    first = job.create({"01": "5000", "02": "24000"})
    job.certify(first.id)
    job.change_order("CO-1", ChangeOrderLineIn(code="04", description=TRICK, amount=Decimal(10000)))
    job.period()
    return job


@pytest.fixture
def admin(engine: Engine) -> dict[str, str]:
    return new_user_headers(engine, ADMIN_EMAIL)


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def read_xlsx(response: Any) -> dict[str, list[dict[str, Any]]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"].startswith("attachment;")
    workbook = load_workbook(io.BytesIO(response.content))
    sheets = {}
    for sheet in workbook.worksheets:
        header, *rows = list(sheet.iter_rows(values_only=True))
        sheets[sheet.title] = [dict(zip(header, row, strict=True)) for row in rows]
    return sheets


class TestG703:
    def test_csv_and_xlsx_match_the_json_to_the_cent(
        self, client: TestClient, job: Job, admin: dict[str, str]
    ) -> None:
        pay_app = job.create({"02": "18000", "03": ("7000", "8000"), "04": "2500"})
        job.certify(pay_app.id)
        path = f"/api/v1/pay-apps/{pay_app.id}"
        shown = client.get(path, headers=admin).json()
        assert shown["summary"]["current_payment_due"] == "31950.00"

        csv_rows = read_csv(client.get(f"{path}/g703.csv", headers=admin))
        workbook = read_xlsx(client.get(f"{path}/g703.xlsx", headers=admin))
        xlsx_rows = workbook["G703 application 2"]
        for rows in (csv_rows, xlsx_rows):
            *lines, totals = rows
            assert [row["Item"] for row in lines] == [line["code"] for line in shown["lines"]]
            for row, line in zip(lines, shown["lines"], strict=True):
                for column, field in G703_FIELDS.items():
                    assert cents(row[column]) == cents(line[field]), (line["code"], column)
            assert totals["Description of work"] == "Grand totals"
            assert cents(totals["C Scheduled value"]) == Decimal("110000.00")
            assert cents(totals["G Total completed and stored to date"]) == cents(
                shown["summary"]["total_completed_and_stored"]
            )
            assert cents(totals["I Retainage"]) == cents(shown["summary"]["total_retainage"])

        # Money is a plain decimal: no sign, no thousands separator.
        windows = next(row for row in csv_rows if row["Item"] == "03")
        assert windows["F Materials presently stored"] == "8000.00"
        g702 = {row["Line"]: cents(row["Amount"]) for row in workbook["G702 application 2"]}
        assert g702["4"] == Decimal("64500.00")
        assert g702["5"] == Decimal("6450.00")
        assert g702["6"] == Decimal("58050.00")
        assert g702["7"] == Decimal("26100.00")
        assert g702["8"] == Decimal("31950.00")
        assert g702["9"] == Decimal("51950.00")

    def test_text_a_spreadsheet_would_run_is_kept_as_text(
        self, client: TestClient, job: Job, admin: dict[str, str]
    ) -> None:
        pay_app = job.create({"04": "2500"})
        path = f"/api/v1/pay-apps/{pay_app.id}"
        csv_rows = read_csv(client.get(f"{path}/g703.csv", headers=admin))
        assert next(row for row in csv_rows if row["Item"] == "04")["Description of work"] == (
            "'" + TRICK
        )
        response = client.get(f"{path}/g703.xlsx", headers=admin)
        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        cell = next(row[1] for row in sheet.iter_rows(min_row=2) if row[0].value == "04")
        assert (cell.value, cell.data_type) == (TRICK, "s")

    def test_same_rules_as_the_json(
        self, client: TestClient, engine: Engine, job: Job, admin: dict[str, str]
    ) -> None:
        pay_app = job.create({"02": "1000"})
        stranger = new_user_headers(engine, "ap@other-gc.example")
        create_project(client, stranger, name="Their own tower")
        with session_scope(engine) as session:
            projects.add_member(
                session, job.admin, job.project_id, MemberAdd(email="v@bank.example", role="viewer")
            )
        viewer = new_user_headers(engine, "v@bank.example")
        for suffix in ("", "/g703.csv", "/g703.xlsx"):
            path = f"/api/v1/pay-apps/{pay_app.id}{suffix}"
            assert client.get(path, headers=stranger).status_code == 404
            assert client.get(path, headers=viewer).status_code == 200
            assert client.get(path).status_code == 401
        assert client.get("/api/v1/pay-apps/pap_nothing/g703.csv", headers=admin).status_code == 404

    def test_the_contact_exports_their_own_pay_app(
        self, client: TestClient, engine: Engine, settings: Settings, job: Job
    ) -> None:
        period_id = job.periods[-1]
        with session_scope(engine) as session:
            session.add(
                Invitation(period_id=period_id, commitment_id=job.commitment_id, status="accepted")
            )
        job.create({"02": "18000", "03": ("7000", "8000")})
        token = issue(settings, ContactClaim(job.commitment_id, period_id, CONTACT_EMAIL))
        contact = {"Authorization": f"Bearer {token}"}
        shown = client.get("/api/v1/contact/pay-app", headers=contact).json()
        rows = read_csv(client.get("/api/v1/contact/pay-app/g703.csv", headers=contact))
        assert [cents(row["E This period"]) for row in rows[:-1]] == [
            cents(line["this_period"]) for line in shown["lines"]
        ]
        stranger = issue(settings, ContactClaim(job.commitment_id, period_id, "x@acme.example"))
        refused = client.get(
            "/api/v1/contact/pay-app/g703.xlsx", headers={"Authorization": f"Bearer {stranger}"}
        )
        assert refused.status_code == 404


class TestBoard:
    def test_csv_and_xlsx_match_the_json(
        self, client: TestClient, job: Job, admin: dict[str, str]
    ) -> None:
        job.create({"02": "1000"})
        path = f"/api/v1/billing-periods/{job.periods[-1]}"
        board = client.get(path, headers=admin).json()
        csv_rows = read_csv(client.get(f"{path}/board.csv", headers=admin))
        (xlsx_rows,) = read_xlsx(client.get(f"{path}/board.xlsx", headers=admin)).values()
        for rows in (csv_rows, xlsx_rows):
            assert len(rows) == len(board["rows"]) == 1
            for row, expected in zip(rows, board["rows"], strict=True):
                assert row["Commitment"] == expected["number"]
                assert row["Vendor"] == expected["vendor_name"]
                assert row["Invitation"] == expected["invitation_status"]
                assert row["Pay app"] == expected["pay_app_status"] == "draft"
                assert str(row["Due date"])[:10] == expected["due_date"]
                assert row["Commitment id"] == expected["commitment_id"]

    def test_same_rules_as_the_json(
        self, client: TestClient, engine: Engine, job: Job, admin: dict[str, str]
    ) -> None:
        stranger = new_user_headers(engine, "ap@other-gc.example")
        create_project(client, stranger, name="Their own tower")
        for suffix in ("", "/board.csv", "/board.xlsx"):
            path = f"/api/v1/billing-periods/{job.periods[-1]}{suffix}"
            assert client.get(path, headers=stranger).status_code == 404
            assert client.get(path, headers=admin).status_code == 200
