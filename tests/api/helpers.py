"""Small builders for API tests: a project, a commitment as in DESIGN.md's example."""

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from paydraw.db.tables import User
from paydraw.settings import Settings
from paydraw.users.sign_in import start_session

DESIGN_SOV = [
    {"code": "01", "description": "Mobilization", "scheduled_value": "5000.00"},
    {"code": "02", "description": "Framing", "scheduled_value": "60000.00"},
    {"code": "03", "description": "Windows", "scheduled_value": "35000.00"},
]


def create_project(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/projects", json={"name": "Harbor View Tower", **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_commitment(
    client: TestClient, headers: dict[str, str], project_id: str, **fields: Any
) -> dict[str, Any]:
    payload = {
        "number": "SC-001",
        "vendor_name": "Acme Framing LLC",
        "contacts": [{"name": "Pat Billing", "email": "billing@acme.example"}],
        "retainage": {"percent": "10"},
        "sov_lines": DESIGN_SOV,
        **fields,
    }
    response = client.post(
        f"/api/v1/projects/{project_id}/commitments", json=payload, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def add_member(
    client: TestClient, headers: dict[str, str], project_id: str, email: str, role: str
) -> None:
    response = client.post(
        f"/api/v1/projects/{project_id}/members",
        json={"email": email, "role": role},
        headers=headers,
    )
    assert response.status_code == 201, response.text


def sign_in_browser(client: TestClient, engine: Engine, email: str) -> None:
    """``client`` signed in as the staff user ``email``, its session written as following the
    emailed sign-in link writes it (no email, so no Temporal)."""
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
        client.cookies.set("paydraw_session", start_session(session, settings, user))
        session.commit()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found[1]
