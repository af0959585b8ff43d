"""Small builders for API tests: a project, a commitment as in DESIGN.md's example."""

from typing import Any

from fastapi.testclient import TestClient

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
