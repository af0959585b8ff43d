"""Signed contact links: signed, expiring, one purpose, one commitment."""

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from paydraw.db.tables import BillingPeriod, Invitation
from paydraw.invitations.tokens import ContactClaim, issue
from paydraw.settings import Settings
from tests.api.helpers import create_commitment, create_project


@pytest.fixture
def invited(
    client: TestClient, admin: dict[str, str], engine: Engine
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Two commitments of one project; only the first is invited to the open period."""
    project = create_project(client, admin)
    first = create_commitment(client, admin, project["id"])
    second = create_commitment(
        client,
        admin,
        project["id"],
        number="SC-002",
        contacts=[{"email": "ar@glazing.example"}],
    )
    with Session(engine) as session:
        period = BillingPeriod(
            project_id=project["id"],
            start_date=date(2026, 11, 1),
            end_date=date(2026, 11, 30),
            due_date=date(2026, 11, 25),
        )
        session.add(period)
        session.flush()
        for commitment in (first, second):
            session.add(
                Invitation(period_id=period.id, commitment_id=commitment["id"], status="invited")
            )
        session.commit()
        return first, second, period.id


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestContactLinks:
    def test_the_link_shows_the_contacts_own_commitment(
        self,
        client: TestClient,
        settings: Settings,
        invited: tuple[dict[str, Any], dict[str, Any], str],
    ) -> None:
        first, _, period_id = invited
        token = issue(settings, ContactClaim(first["id"], period_id, "billing@acme.example"))

        response = client.get("/api/v1/contact/invitation", headers=bearer(token))
        assert response.status_code == 200
        body = response.json()
        assert body["commitment_id"] == first["id"]
        assert body["due_date"] == "2026-11-25"
        assert [line["billable"] for line in body["sov_lines"]] == [
            "5000.00",
            "60000.00",
            "35000.00",
        ]

    def test_no_token_is_401(self, client: TestClient) -> None:
        response = client.get("/api/v1/contact/invitation")
        assert response.status_code == 401
        assert "invite email" in response.json()["message"]

    def test_a_tampered_token_is_401(
        self,
        client: TestClient,
        settings: Settings,
        invited: tuple[dict[str, Any], dict[str, Any], str],
    ) -> None:
        first, _, period_id = invited
        token = issue(settings, ContactClaim(first["id"], period_id, "billing@acme.example"))
        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        response = client.get("/api/v1/contact/invitation", headers=bearer(tampered))
        assert response.status_code == 401
        assert response.json()["message"] == "the link is not valid"

    def test_a_token_for_another_purpose_is_401(
        self,
        client: TestClient,
        settings: Settings,
        invited: tuple[dict[str, Any], dict[str, Any], str],
    ) -> None:
        first, _, period_id = invited
        claim = ContactClaim(first["id"], period_id, "billing@acme.example")
        token = issue(settings, claim, purpose="paydraw.password-reset")
        response = client.get("/api/v1/contact/invitation", headers=bearer(token))
        assert response.status_code == 401

    def test_a_token_signed_with_another_secret_is_401(
        self,
        client: TestClient,
        settings: Settings,
        invited: tuple[dict[str, Any], dict[str, Any], str],
    ) -> None:
        first, _, period_id = invited
        other = settings.model_copy(update={"secret_key": "someone-elses-secret"})
        token = issue(other, ContactClaim(first["id"], period_id, "billing@acme.example"))
        response = client.get("/api/v1/contact/invitation", headers=bearer(token))
        assert response.status_code == 401

    def test_an_expired_token_is_401(
        self,
        client: TestClient,
        settings: Settings,
        invited: tuple[dict[str, Any], dict[str, Any], str],
    ) -> None:
        first, _, period_id = invited
        token = issue(settings, ContactClaim(first["id"], period_id, "billing@acme.example"))
        client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
            update={"contact_link_max_age_days": -1}
        )
        response = client.get("/api/v1/contact/invitation", headers=bearer(token))
        assert response.status_code == 401
        assert "expired" in response.json()["message"]

    def test_a_token_for_commitment_a_never_reaches_commitment_b(
        self,
        client: TestClient,
        settings: Settings,
        invited: tuple[dict[str, Any], dict[str, Any], str],
    ) -> None:
        _, second, period_id = invited
        # A's contact, pointed at B's commitment: signed, but not B's contact.
        token = issue(settings, ContactClaim(second["id"], period_id, "billing@acme.example"))
        for method, path in (
            ("GET", "/api/v1/contact/invitation"),
            ("POST", "/api/v1/contact/invitation/accept"),
        ):
            response = client.request(method, path, headers=bearer(token))
            assert response.status_code == 404, path
            assert response.json()["error"] == "not_found"

    def test_a_staff_api_key_is_not_a_contact_token(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.get("/api/v1/contact/invitation", headers=admin)
        assert response.status_code == 401
