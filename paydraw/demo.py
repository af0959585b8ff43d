"""Demo data: a project with a few subcontracts, an open billing period, and invites sent, all
through the running API, so a new user sees invite emails arrive in the mailbox at once."""

import calendar
from datetime import date, timedelta
from typing import Any

import httpx

PROJECT_NUMBER = "HVT-2026"
DEMO_COMMITMENTS = [
    ("SC-100", "Bayside Concrete Inc.", "billing@bayside-concrete.example", "Concrete"),
    ("SC-200", "Acme Framing LLC", "ar@acme-framing.example", "Framing"),
    ("SC-300", "ClearView Glazing Co.", "invoices@clearview-glazing.example", "Windows"),
]


def seed(base_url: str, api_key: str, today: date) -> dict[str, Any]:
    """Create the demo project, commitments and period, invite everyone; returns the ids."""
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as api:

        def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            response = api.post(path, json=body or {})
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result

        project = post(
            "/api/v1/projects",
            {
                "name": "Harbor View Tower",
                "number": PROJECT_NUMBER,
                "general_contractor": "Bayline Builders",
                "owner": "Harbor View Partners",
            },
        )
        commitment_ids = []
        for number, vendor, email, trade in DEMO_COMMITMENTS:
            commitment = post(
                f"/api/v1/projects/{project['id']}/commitments",
                {
                    "number": number,
                    "title": trade,
                    "vendor_name": vendor,
                    "contacts": [{"name": "Billing clerk", "email": email}],
                    "retainage": {"percent": "10"},
                    "sov_lines": [
                        {"code": "01", "description": "Mobilization", "scheduled_value": "5000.00"},
                        {"code": "02", "description": trade, "scheduled_value": "60000.00"},
                        {"code": "03", "description": "Close-out", "scheduled_value": "35000.00"},
                    ],
                },
            )
            post(f"/api/v1/commitments/{commitment['id']}/sov/approve")
            commitment_ids.append(commitment["id"])
        period = post(f"/api/v1/projects/{project['id']}/billing-periods", this_month(today))
        invites = post(
            f"/api/v1/billing-periods/{period['id']}/invites",
            {
                "commitment_ids": commitment_ids,
                "message": "Please submit this month's pay application by the due date.",
            },
        )
        return {"project": project, "period": period, "invites": invites}


def this_month(today: date) -> dict[str, str]:
    """The billing period of ``today``'s month, from its first day to its last, due in ten days."""
    last_day = calendar.monthrange(today.year, today.month)[1]
    return {
        "start_date": today.replace(day=1).isoformat(),
        "end_date": today.replace(day=last_day).isoformat(),
        "due_date": (today + timedelta(days=10)).isoformat(),
    }
