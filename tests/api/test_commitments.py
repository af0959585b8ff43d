"""Commitments, SOV approval, change orders and the billing summary through the staff API."""

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from paydraw.db.tables import AuditEvent, PayApp, PayAppLine, SovLine
from tests.api.helpers import add_member, create_commitment, create_project
from tests.conftest import new_user_headers


def approved_design_commitment(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    """DESIGN.md's example: $100,000 in three lines, 10% retainage, then CO#1 +$10,000."""
    project = create_project(client, admin)
    commitment = create_commitment(client, admin, project["id"])
    approve = client.post(f"/api/v1/commitments/{commitment['id']}/sov/approve", headers=admin)
    assert approve.status_code == 200, approve.text
    change_order = client.post(
        f"/api/v1/commitments/{commitment['id']}/change-orders",
        json={
            "number": "CO#1",
            "lines": [{"code": "04", "description": "CO#1 blocking", "amount": "10000.00"}],
        },
        headers=admin,
    )
    assert change_order.status_code == 201, change_order.text
    return commitment


def record_pay_app(
    engine: Engine, commitment_id: str, number: int, billed: dict[str, tuple[str, str]], status: str
) -> None:
    """Store a pay application as the pay-app workflow would: work (E) and stored (F) by code."""
    with Session(engine) as session:
        lines = {
            line.code: line.id
            for line in session.exec(select(SovLine).where(SovLine.commitment_id == commitment_id))
        }
        pay_app = PayApp(commitment_id=commitment_id, number=number, status=status)
        session.add(pay_app)
        session.flush()
        for code, (work, stored) in billed.items():
            session.add(
                PayAppLine(
                    pay_app_id=pay_app.id,
                    sov_line_id=lines[code],
                    work_this_period=Decimal(work),
                    materials_stored=Decimal(stored),
                )
            )
        session.commit()


class TestCreateCommitment:
    def test_contract_sums_are_exact_strings(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(client, admin, project["id"])

        assert commitment["sov_status"] == "draft"
        assert commitment["original_contract_sum"] == "100000.00"
        assert commitment["contract_sum_to_date"] == "100000.00"
        assert [line["scheduled_value"] for line in commitment["sov_lines"]] == [
            "5000.00",
            "60000.00",
            "35000.00",
        ]
        assert commitment["retainage_steps"] == [{"percent": "10", "until_percent_complete": None}]
        assert commitment["contacts"][0]["email"] == "billing@acme.example"

    def test_the_project_default_retainage_applies_when_none_is_given(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin, default_retainage_percent="5")
        commitment = create_commitment(client, admin, project["id"], retainage=None)
        assert commitment["retainage_steps"] == [{"percent": "5", "until_percent_complete": None}]

    def test_a_sliding_scale_is_kept_in_order(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(
            client,
            admin,
            project["id"],
            retainage={
                "steps": [{"percent": "10", "until_percent_complete": "50"}, {"percent": "5"}]
            },
        )
        assert commitment["retainage_steps"] == [
            {"percent": "10", "until_percent_complete": "50"},
            {"percent": "5", "until_percent_complete": None},
        ]

    def test_a_sliding_scale_with_an_open_step_in_the_middle_is_422(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        response = client.post(
            f"/api/v1/projects/{project['id']}/commitments",
            json={
                "number": "SC-2",
                "vendor_name": "V",
                "retainage": {"steps": [{"percent": "10"}, {"percent": "5"}]},
            },
            headers=admin,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"].startswith("retainage.steps")

    def test_repeated_line_codes_are_422(self, client: TestClient, admin: dict[str, str]) -> None:
        project = create_project(client, admin)
        line = {"code": "01", "scheduled_value": "10.00"}
        response = client.post(
            f"/api/v1/projects/{project['id']}/commitments",
            json={"number": "SC-2", "vendor_name": "V", "sov_lines": [line, line]},
            headers=admin,
        )
        assert response.status_code == 422
        assert "repeated: 01" in response.json()["message"]

    def test_money_with_three_decimals_or_negative_is_422(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        response = client.post(
            f"/api/v1/projects/{project['id']}/commitments",
            json={
                "number": "SC-2",
                "vendor_name": "V",
                "sov_lines": [
                    {"code": "01", "scheduled_value": "10.005"},
                    {"code": "02", "scheduled_value": "-1.00"},
                ],
            },
            headers=admin,
        )
        assert response.status_code == 422
        fields = [error["field"] for error in response.json()["errors"]]
        assert fields == ["sov_lines[0].scheduled_value", "sov_lines[1].scheduled_value"]

    def test_a_duplicate_number_is_422(self, client: TestClient, admin: dict[str, str]) -> None:
        project = create_project(client, admin)
        create_commitment(client, admin, project["id"])
        response = client.post(
            f"/api/v1/projects/{project['id']}/commitments",
            json={"number": "SC-001", "vendor_name": "Other"},
            headers=admin,
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "number", "reason": "commitment SC-001 already exists on this project"}
        ]


class TestSovApproval:
    def test_approving_twice_is_409_with_the_allowed_actions(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(client, admin, project["id"])
        path = f"/api/v1/commitments/{commitment['id']}/sov/approve"

        assert client.post(path, headers=admin).json()["sov_status"] == "approved"
        again = client.post(path, headers=admin)
        assert again.status_code == 409
        assert again.json()["status"] == "approved"
        assert again.json()["allowed_actions"] == ["change_order"]
        assert again.json()["message"] == "the schedule of values is already approved"

    def test_an_empty_sov_cannot_be_approved(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(client, admin, project["id"], sov_lines=[])
        response = client.post(f"/api/v1/commitments/{commitment['id']}/sov/approve", headers=admin)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "sov_lines"

    def test_draws_above_the_contract_sum_are_refused(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(
            client, admin, project["id"], draws=[{"name": "Draw 1", "amount": "100000.01"}]
        )
        response = client.post(f"/api/v1/commitments/{commitment['id']}/sov/approve", headers=admin)
        assert response.status_code == 422
        assert "100000.01, more than the contract sum 100000.00" in response.json()["message"]

    def test_a_draft_sov_can_be_replaced_and_an_approved_one_cannot(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(client, admin, project["id"])
        path = f"/api/v1/commitments/{commitment['id']}/sov"
        body = {
            "sov_lines": [{"code": "A", "scheduled_value": "1234.56"}],
            "draws": [{"name": "Draw 1 of 1", "amount": "1234.56"}],
        }

        replaced = client.put(path, json=body, headers=admin).json()
        assert replaced["contract_sum_to_date"] == "1234.56"
        assert [draw["name"] for draw in replaced["draws"]] == ["Draw 1 of 1"]
        client.post(f"{path}/approve", headers=admin)
        assert client.put(path, json=body, headers=admin).status_code == 409


class TestChangeOrders:
    def test_an_approved_change_order_raises_the_contract_sum(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        framing = commitment["sov_lines"][1]["id"]
        deduct = client.post(
            f"/api/v1/commitments/{commitment['id']}/change-orders",
            json={"number": "CO#2", "lines": [{"sov_line_id": framing, "amount": "-500.50"}]},
            headers=admin,
        )
        assert deduct.status_code == 201
        assert deduct.json()["total"] == "-500.50"

        after = client.get(f"/api/v1/commitments/{commitment['id']}", headers=admin).json()
        assert after["original_contract_sum"] == "100000.00"
        assert after["net_change_by_change_orders"] == "9499.50"
        assert after["contract_sum_to_date"] == "109499.50"
        assert after["sov_lines"][1]["scheduled_value"] == "59499.50"
        assert after["sov_lines"][3]["code"] == "04"
        assert after["sov_lines"][3]["original_value"] == "0.00"

    def test_a_pending_change_order_counts_only_once_approved(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        pending = client.post(
            f"/api/v1/commitments/{commitment['id']}/change-orders",
            json={
                "number": "CO#2",
                "status": "pending",
                "lines": [{"code": "05", "amount": "2000.00"}],
            },
            headers=admin,
        ).json()
        path = f"/api/v1/commitments/{commitment['id']}"
        assert client.get(path, headers=admin).json()["contract_sum_to_date"] == "110000.00"

        approved = client.post(f"{path}/change-orders/{pending['id']}/approve", headers=admin)
        assert approved.json()["status"] == "approved"
        assert client.get(path, headers=admin).json()["contract_sum_to_date"] == "112000.00"

    def test_a_change_order_on_a_draft_sov_is_409(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(client, admin, project["id"])
        response = client.post(
            f"/api/v1/commitments/{commitment['id']}/change-orders",
            json={"number": "CO#1", "lines": [{"code": "09", "amount": "1.00"}]},
            headers=admin,
        )
        assert response.status_code == 409
        assert response.json()["allowed_actions"] == ["replace_sov", "approve_sov"]

    def test_an_unknown_line_or_a_line_of_another_commitment_is_422(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        response = client.post(
            f"/api/v1/commitments/{commitment['id']}/change-orders",
            json={"number": "CO#9", "lines": [{"sov_line_id": "sov_nope", "amount": "1.00"}]},
            headers=admin,
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "lines[0].sov_line_id", "reason": "no such line on this commitment"}
        ]

    def test_a_deduction_below_what_is_billed_is_refused_and_nothing_changes(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        record_pay_app(engine, commitment["id"], 1, {"02": ("24000.00", "0.00")}, "finalized")
        framing = commitment["sov_lines"][1]["id"]

        response = client.post(
            f"/api/v1/commitments/{commitment['id']}/change-orders",
            json={"number": "CO#2", "lines": [{"sov_line_id": framing, "amount": "-36000.01"}]},
            headers=admin,
        )
        assert response.status_code == 422
        assert response.json()["message"] == (
            "lines: line 02 would be scheduled at 23999.99, below the 24000.00 already billed on it"
        )
        after = client.get(f"/api/v1/commitments/{commitment['id']}", headers=admin).json()
        assert after["contract_sum_to_date"] == "110000.00"
        assert [co["number"] for co in after["change_orders"]] == ["CO#1"]


class TestBillingSummary:
    def test_the_design_example_to_the_cent(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        record_pay_app(
            engine,
            commitment["id"],
            1,
            {"01": ("5000.00", "0.00"), "02": ("24000.00", "0.00")},
            "finalized",
        )
        record_pay_app(
            engine,
            commitment["id"],
            2,
            {"02": ("18000.00", "0.00"), "03": ("7000.00", "8000.00"), "04": ("2500.00", "0")},
            "finalized",
        )

        response = client.get(
            f"/api/v1/commitments/{commitment['id']}/billing-summary", headers=admin
        )
        assert response.status_code == 200
        summary = response.json()
        second = summary["certificates"][1]
        assert second["application_number"] == 2
        assert second["original_contract_sum"] == "100000.00"
        assert second["net_change_by_change_orders"] == "10000.00"
        assert second["contract_sum_to_date"] == "110000.00"
        assert second["total_completed_and_stored"] == "64500.00"
        assert second["total_retainage"] == "6450.00"
        assert second["total_earned_less_retainage"] == "58050.00"
        assert second["previous_certificates"] == "26100.00"
        assert second["current_payment_due"] == "31950.00"
        assert second["balance_to_finish_with_retainage"] == "51950.00"
        assert summary["certified_to_date"] == "58050.00"
        assert summary["billed_to_date"] == "64500.00"
        assert summary["retainage_held"] == "6450.00"
        assert summary["balance_to_finish"] == "45500.00"
        assert summary["percent_complete"] == "58.64"
        assert summary["fully_billed"] is False

    def test_a_draft_and_a_void_pay_app_count_in_no_certified_figure(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        record_pay_app(engine, commitment["id"], 1, {"01": ("5000.00", "0.00")}, "void")
        record_pay_app(engine, commitment["id"], 2, {"01": ("5000.00", "0.00")}, "draft")

        summary = client.get(
            f"/api/v1/commitments/{commitment['id']}/billing-summary", headers=admin
        ).json()
        assert summary["certified_to_date"] == "0.00"
        assert summary["billed_to_date"] == "0.00"
        assert summary["awaiting_certification"] == "0.00"
        assert summary["certificates"] == []


class TestCredit:
    def test_a_deposit_shows_in_the_billing_summary_and_is_audited(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        path = f"/api/v1/commitments/{commitment['id']}/credits"
        first = client.post(path, json={"amount": "5000", "memo": "Deposit"}, headers=admin)
        second = client.post(path, json={"amount": "250.50"}, headers=admin)

        assert first.status_code == 201, first.text
        assert first.json() == {"commitment_id": commitment["id"], "credit_balance": "5000.00"}
        assert second.json()["credit_balance"] == "5250.50"
        summary = client.get(
            f"/api/v1/commitments/{commitment['id']}/billing-summary", headers=admin
        ).json()
        assert summary["credit_balance"] == "5250.50"
        with Session(engine) as session:
            events = session.exec(
                select(AuditEvent).where(
                    AuditEvent.entity_id == commitment["id"], AuditEvent.action == "add_credit"
                )
            ).all()
        assert [event.reason for event in events] == ["Deposit", ""]

    def test_a_repeated_idempotency_key_adds_the_credit_once(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        path = f"/api/v1/commitments/{commitment['id']}/credits"
        headers = admin | {"Idempotency-Key": "deposit-1"}
        answers = [client.post(path, json={"amount": "100.00"}, headers=headers) for _ in range(3)]

        assert [answer.json()["credit_balance"] for answer in answers] == ["100.00"] * 3
        summary = client.get(
            f"/api/v1/commitments/{commitment['id']}/billing-summary", headers=admin
        ).json()
        assert summary["credit_balance"] == "100.00"

    def test_only_an_admin_may_add_credit_and_only_a_positive_amount(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        path = f"/api/v1/commitments/{commitment['id']}/credits"
        add_member(client, admin, commitment["project_id"], "pm@gc.example", "reviewer")
        reviewer = new_user_headers(engine, "pm@gc.example")
        stranger = new_user_headers(engine, "someone@elsewhere.example")

        by_reviewer = client.post(path, json={"amount": "10.00"}, headers=reviewer)
        by_stranger = client.post(path, json={"amount": "10.00"}, headers=stranger)
        zero = client.post(path, json={"amount": "0.00"}, headers=admin)
        cents = client.post(path, json={"amount": "1.005"}, headers=admin)

        assert by_reviewer.status_code == 403
        assert "add credit" in by_reviewer.json()["message"]
        assert by_stranger.status_code == 404
        assert by_stranger.json()["message"] == f"commitment {commitment['id']} not found"
        assert zero.status_code == 422
        assert zero.json()["errors"][0]["field"] == "amount"
        assert cents.status_code == 422
        assert cents.json()["errors"][0]["field"] == "amount"
        summary = client.get(
            f"/api/v1/commitments/{commitment['id']}/billing-summary", headers=admin
        ).json()
        assert summary["credit_balance"] == "0.00"


class TestAudit:
    def test_every_change_leaves_an_audit_event(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        commitment = approved_design_commitment(client, admin)
        with Session(engine) as session:
            events = session.exec(select(AuditEvent).order_by(AuditEvent.at)).all()
        actions = [(event.entity_type, event.action, event.to_state) for event in events]
        assert ("commitment", "create", "draft") in actions
        assert ("commitment", "approve_sov", "approved") in actions
        assert ("change_order", "create", "pending") in actions
        assert ("change_order", "approve", "approved") in actions
        assert all(event.actor == "user:ap@gc.example" for event in events)
        assert commitment["id"] in {event.entity_id for event in events}
