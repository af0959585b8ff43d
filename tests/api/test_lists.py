"""The list endpoints: a caller finds their projects, commitments, billing periods, pay apps and
histories without knowing an id first, a page at a time, and sees nothing of anyone else's."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.helpers import create_commitment, create_project
from tests.conftest import new_user_headers
from tests.pay_apps.builders import ADMIN_EMAIL, REVIEWER_EMAIL, Job, design_job


def every_page(client: TestClient, url: str, headers: dict[str, str], limit: int) -> list[Any]:
    """Follow the cursors to the end; each page but the last is full."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(body["items"]) == limit
    return [item for page in pages for item in page]


class TestProjects:
    def test_pages_through_the_callers_projects_in_order_and_no_one_elses(
        self, client: TestClient, engine: Engine, admin: dict[str, str]
    ) -> None:
        mine = [create_project(client, admin, name=f"Tower {n}")["id"] for n in range(5)]
        stranger = new_user_headers(engine, "someone@other-gc.example")
        theirs = create_project(client, stranger, name="Elsewhere")["id"]

        listed = every_page(client, "/api/v1/projects", admin, limit=2)
        assert [project["id"] for project in listed] == mine
        assert {project["your_role"] for project in listed} == {"admin"}
        assert [p["id"] for p in every_page(client, "/api/v1/projects", stranger, 10)] == [theirs]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"limit": 0}, "limit"),
            ({"limit": 201}, "limit"),
        ],
    )
    def test_a_bad_cursor_or_limit_is_a_422_naming_it(
        self, client: TestClient, admin: dict[str, str], params: dict[str, Any], field: str
    ) -> None:
        response = client.get("/api/v1/projects", params=params, headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"].endswith(field), response.json()

    def test_anyone_without_a_key_gets_a_401(self, client: TestClient) -> None:
        assert client.get("/api/v1/projects").status_code == 401


class TestCommitmentsAndPeriods:
    def test_a_projects_commitments_come_in_number_order(
        self, client: TestClient, engine: Engine, admin: dict[str, str]
    ) -> None:
        project_id = create_project(client, admin)["id"]
        for number in ("SC-003", "SC-001", "SC-002"):
            create_commitment(client, admin, project_id, number=number)
        url = f"/api/v1/projects/{project_id}/commitments"

        listed = every_page(client, url, admin, limit=2)
        assert [commitment["number"] for commitment in listed] == ["SC-001", "SC-002", "SC-003"]
        assert {commitment["vendor_name"] for commitment in listed} == {"Acme Framing LLC"}
        stranger = new_user_headers(engine, "someone@other-gc.example")
        assert client.get(url, headers=stranger).status_code == 404

    def test_a_projects_billing_periods_come_earliest_first(
        self, client: TestClient, engine: Engine
    ) -> None:
        job = design_job(engine)
        second = job.period()
        headers = new_user_headers(engine, ADMIN_EMAIL)
        url = f"/api/v1/projects/{job.project_id}/billing-periods"

        listed = every_page(client, url, headers, limit=1)
        assert len(listed) == 2 and listed[1]["id"] == second
        assert listed[0]["start_date"] < listed[1]["start_date"]
        assert client.get(url, headers=new_user_headers(engine, "x@y.example")).status_code == 404


def pay_apps_in_every_state(engine: Engine) -> dict[str, tuple[Job, str]]:
    """One project (and commitment) per pay app: a draft, one under review, one approved and one
    finalized, each created in that order."""
    made: dict[str, tuple[Job, str]] = {}
    for state in ("draft", "under_review", "approved", "finalized"):
        job = design_job(engine)
        pay_app = job.create({"01": "5000", "02": "24000"})
        if state != "draft":
            job.submit(pay_app.id)
        if state in ("approved", "finalized"):
            job.approve(pay_app.id)
        if state == "finalized":
            job.finalize(pay_app.id)
        made[state] = (job, pay_app.id)
    return made


class TestPayApps:
    def test_waiting_for_me_is_what_the_callers_role_acts_on_next(
        self, client: TestClient, engine: Engine
    ) -> None:
        made = pay_apps_in_every_state(engine)
        admin = new_user_headers(engine, ADMIN_EMAIL)
        reviewer = new_user_headers(engine, REVIEWER_EMAIL)

        def ids(headers: dict[str, str], **params: Any) -> list[str]:
            response = client.get("/api/v1/pay-apps", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return [pay_app["id"] for pay_app in response.json()["items"]]

        state_of = {pay_app_id: state for state, (_, pay_app_id) in made.items()}
        assert [state_of[i] for i in ids(admin)] == [
            "draft",
            "under_review",
            "approved",
            "finalized",
        ]
        assert [state_of[i] for i in ids(admin, waiting_for_me=True)] == [
            "under_review",
            "approved",
            "finalized",
        ]
        assert [state_of[i] for i in ids(reviewer, waiting_for_me=True)] == ["under_review"]
        assert [state_of[i] for i in ids(admin, status=["draft", "approved"])] == [
            "draft",
            "approved",
        ]
        job, pay_app_id = made["approved"]
        assert ids(admin, project_id=job.project_id) == [pay_app_id]
        assert ids(admin, commitment_id=job.commitment_id) == [pay_app_id]

    def test_a_stranger_sees_none_and_a_stranger_project_is_not_found(
        self, client: TestClient, engine: Engine
    ) -> None:
        made = pay_apps_in_every_state(engine)
        stranger = new_user_headers(engine, "someone@other-gc.example")
        response = client.get("/api/v1/pay-apps", headers=stranger)
        assert response.status_code == 200 and response.json()["items"] == []
        job, pay_app_id = made["draft"]
        for params in ({"project_id": job.project_id}, {"commitment_id": job.commitment_id}):
            assert (
                client.get("/api/v1/pay-apps", params=params, headers=stranger).status_code == 404
            )
        history = client.get(f"/api/v1/pay-apps/{pay_app_id}/history", headers=stranger)
        assert history.status_code == 404


class TestHistory:
    def test_a_pay_app_and_its_commitment_tell_what_happened_in_order(
        self, client: TestClient, engine: Engine
    ) -> None:
        made = pay_apps_in_every_state(engine)
        job, pay_app_id = made["finalized"]
        headers = new_user_headers(engine, ADMIN_EMAIL)

        events = every_page(client, f"/api/v1/pay-apps/{pay_app_id}/history", headers, limit=2)
        assert [event["to_state"] for event in events if event["to_state"]] == [
            "draft",
            "under_review",
            "approved",
            "finalized",
        ]
        assert {event["entity_id"] for event in events} == {pay_app_id}
        commitment = every_page(
            client, f"/api/v1/commitments/{job.commitment_id}/history", headers, limit=50
        )
        assert {event["entity_type"] for event in commitment} >= {"commitment", "pay_app"}
        assert [e["id"] for e in events] == [
            e["id"] for e in commitment if e["entity_id"] == pay_app_id
        ]
        project = every_page(client, f"/api/v1/projects/{job.project_id}/history", headers, 50)
        assert len(project) > len(commitment)
