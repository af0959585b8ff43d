"""What careless clients, fuzzers and attackers send: every answer is a 4xx in the error model
that names the field, or a documented 503, and nothing is stored that cannot be read back."""

import fcntl
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from paydraw.db import engine as database_engine
from paydraw.domain.money import LARGEST_AMOUNT
from paydraw.invitations.tokens import ContactClaim, issue
from paydraw.settings import Settings
from tests.api.helpers import create_commitment, create_project
from tests.conftest import new_user_headers

BIG = "999999999999.99"


def fields_of(response: Any) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


def sov(*values: str) -> list[dict[str, str]]:
    return [
        {"code": f"{n:02d}", "description": f"Line {n}", "scheduled_value": value}
        for n, value in enumerate(values, start=1)
    ]


class TestAmountsAtTheirBounds:
    def test_an_amount_past_the_largest_is_refused_and_names_the_field(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        response = client.post(
            f"/api/v1/projects/{project['id']}/commitments",
            json={"number": "SC-1", "vendor_name": "Acme", "sov_lines": sov(BIG)},
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["sov_lines[0].scheduled_value"]

    def test_lines_adding_up_past_the_largest_contract_sum_are_refused(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        largest = f"{LARGEST_AMOUNT}"
        response = client.post(
            f"/api/v1/projects/{project['id']}/commitments",
            json={"number": "SC-1", "vendor_name": "Acme", "sov_lines": sov(largest, largest)},
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["sov_lines"]
        assert "the largest Paydraw takes is 9999999999.99" in response.json()["message"]

    def test_a_change_order_past_the_largest_contract_sum_leaves_the_commitment_readable(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(
            client, admin, project["id"], sov_lines=sov(f"{LARGEST_AMOUNT}")
        )
        path = f"/api/v1/commitments/{commitment['id']}"
        assert client.post(f"{path}/sov/approve", headers=admin).status_code == 200
        line_id = commitment["sov_lines"][0]["id"]
        response = client.post(
            f"{path}/change-orders",
            json={"number": "CO-1", "lines": [{"sov_line_id": line_id, "amount": "1.00"}]},
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["lines"]
        for read in (path, f"{path}/billing-summary"):
            shown = client.get(read, headers=admin)
            assert shown.status_code == 200, shown.text
        summary = client.get(f"{path}/billing-summary", headers=admin).json()
        assert summary["contract_sum_to_date"] == f"{LARGEST_AMOUNT}"

    def test_credits_past_the_largest_balance_are_refused(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(client, admin, project["id"])
        credits = f"/api/v1/commitments/{commitment['id']}/credits"
        first = client.post(credits, json={"amount": f"{LARGEST_AMOUNT}"}, headers=admin)
        second = client.post(credits, json={"amount": "1.00"}, headers=admin)
        assert first.status_code == 201, first.text
        assert second.status_code == 422, second.text
        assert fields_of(second) == ["amount"]
        summary = client.get(
            f"/api/v1/commitments/{commitment['id']}/billing-summary", headers=admin
        )
        assert summary.status_code == 200
        assert summary.json()["credit_balance"] == f"{LARGEST_AMOUNT}"

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        values=st.lists(
            st.decimals(min_value=0, max_value=Decimal(BIG), places=2), min_size=1, max_size=4
        ),
        change=st.decimals(min_value=Decimal("-1000"), max_value=Decimal(BIG), places=2),
    )
    def test_whatever_is_entered_the_commitment_reads_back(
        self,
        client: TestClient,
        engine: Engine,
        values: list[Decimal],
        change: Decimal,
    ) -> None:
        admin = new_user_headers(engine, "ap@gc.example")
        project = create_project(client, admin)
        created = client.post(
            f"/api/v1/projects/{project['id']}/commitments",
            json={"number": "SC-1", "vendor_name": "Acme", "sov_lines": sov(*map(str, values))},
            headers=admin,
        )
        assert created.status_code in (201, 422), created.text
        if created.status_code == 422:
            assert sum(values) > LARGEST_AMOUNT or max(values) > LARGEST_AMOUNT
            return
        path = f"/api/v1/commitments/{created.json()['id']}"
        client.post(f"{path}/sov/approve", headers=admin)
        if change:
            line_id = created.json()["sov_lines"][0]["id"]
            order = client.post(
                f"{path}/change-orders",
                json={"number": "CO-1", "lines": [{"sov_line_id": line_id, "amount": str(change)}]},
                headers=admin,
            )
            assert order.status_code in (201, 422), order.text
        for read in (path, f"{path}/billing-summary"):
            assert client.get(read, headers=admin).status_code == 200


class TestNumbersAndDates:
    @pytest.mark.parametrize(
        "amount", ["1_000.00", "\uff19\uff19.\uff10\uff10", "1e3", "NaN", "Infinity", " "]
    )
    def test_what_is_not_an_amount_is_refused(
        self, client: TestClient, admin: dict[str, str], amount: str
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(client, admin, project["id"])
        response = client.post(
            f"/api/v1/commitments/{commitment['id']}/credits",
            json={"amount": amount},
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["amount"]


class TestNames:
    @pytest.mark.parametrize("name", ["Acme\r\nBcc: victim@example.com", "Acme\x00", "Acme\x85"])
    def test_control_characters_in_a_name_are_refused(
        self, client: TestClient, admin: dict[str, str], name: str
    ) -> None:
        project = create_project(client, admin)
        response = client.post(
            f"/api/v1/projects/{project['id']}/commitments",
            json={
                "number": "SC-1",
                "vendor_name": name,
                "contacts": [{"name": name, "email": "billing@acme.example"}],
                "sov_lines": sov("100.00"),
            },
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert sorted(fields_of(response)) == ["contacts[0].name", "vendor_name"]

    def test_a_project_name_with_a_line_break_is_refused(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/projects", json={"name": "Tower\nBcc: x@example.com"}, headers=admin
        )
        assert response.status_code == 422
        assert fields_of(response) == ["name"]


class TestAnswersInTheErrorModel:
    def test_the_contacts_empty_lines_body_is_a_422(
        self, client: TestClient, admin: dict[str, str], settings: Settings
    ) -> None:
        token = issue(settings, ContactClaim("cmt_x", "per_x", "billing@acme.example"))
        contact = {"Authorization": f"Bearer {token}"}
        for body in ({}, {"retainage_release": {"amount": "10.00"}}):
            response = client.put("/api/v1/contact/pay-app/lines", json=body, headers=contact)
            assert response.status_code == 422, response.text
            assert response.json()["error"] == "invalid_input"
            assert (
                "progress entry" in response.json()["message"]
                or "retainage" in (response.json()["message"])
            )

    def test_a_body_that_is_not_utf8_is_a_422(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/projects",
            content=b'{"name": "\xff\xfe"}',
            headers=admin | {"Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "body"

    def test_a_rule_over_several_fields_names_the_field_it_is_about(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        response = client.post(
            f"/api/v1/projects/{project['id']}/billing-periods",
            json={"start_date": "2026-12-01", "end_date": "2026-11-30", "due_date": "2026-12-20"},
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [
            {"field": "end_date", "reason": "must not be before start_date"}
        ]
        commitment = create_commitment(client, admin, project["id"])
        response = client.post(
            f"/api/v1/commitments/{commitment['id']}/change-orders",
            json={"number": "CO-1", "lines": [{"code": "09", "amount": "-5.00"}]},
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["lines[0].amount"]

    def test_the_openapi_document_describes_the_error_model(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        document = client.get("/openapi.json").json()
        assert "HTTPValidationError" not in document["components"]["schemas"]
        answers = document["paths"]["/api/v1/pay-apps/{pay_app_id}/submit"]["post"]["responses"]
        for code in ("401", "404", "409", "422", "503"):
            schema = answers[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, code

    def test_a_body_over_the_cap_is_a_413(self, client: TestClient, admin: dict[str, str]) -> None:
        response = client.post(
            "/api/v1/projects",
            json={"name": "Tower", "owner": "x" * (2 * 1024 * 1024)},
            headers=admin | {"Idempotency-Key": "big"},
        )
        assert response.status_code == 413
        assert response.json()["error"] == "too_large"

    def test_a_held_write_lock_is_a_503_with_retry_after(
        self,
        client: TestClient,
        admin: dict[str, str],
        engine: Engine,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        if engine.dialect.name != "sqlite":
            return
        # Another process holds the database's write lock, and writers wait a second for it.
        monkeypatch.setattr(database_engine, "BUSY_TIMEOUT_SECONDS", 1)
        writers = Path(f"{engine.url.database}.writers")
        with writers.open("a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            response = client.post("/api/v1/projects", json={"name": "Tower"}, headers=admin)
            fcntl.flock(held, fcntl.LOCK_UN)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"] == "busy"
        again = client.post("/api/v1/projects", json={"name": "Tower"}, headers=admin)
        assert again.status_code == 201


class TestChildObjectsOfOthers:
    def test_another_gcs_change_order_through_ones_own_commitment_is_a_404(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        other = new_user_headers(engine, "ap@other-gc.example")
        theirs = create_commitment(client, other, create_project(client, other)["id"])
        client.post(f"/api/v1/commitments/{theirs['id']}/sov/approve", headers=other)
        line_id = theirs["sov_lines"][0]["id"]
        order = client.post(
            f"/api/v1/commitments/{theirs['id']}/change-orders",
            json={
                "number": "CO-1",
                "status": "pending",
                "lines": [{"sov_line_id": line_id, "amount": "10.00"}],
            },
            headers=other,
        )
        assert order.status_code == 201, order.text
        mine = create_commitment(client, admin, create_project(client, admin)["id"])
        response = client.post(
            f"/api/v1/commitments/{mine['id']}/change-orders/{order.json()['id']}/approve",
            headers=admin,
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found"
