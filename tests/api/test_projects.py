"""Projects and members through the staff API."""

import concurrent.futures
import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from api.app import create_app
from paydraw.db.engine import companion_engine
from paydraw.db.tables import AuditEvent, IdempotencyRecord, Project
from paydraw.settings import Settings
from tests.api.helpers import add_member, create_commitment, create_project
from tests.conftest import new_user_headers


class TestCreateProject:
    def test_the_creator_becomes_admin_and_defaults_apply(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin, general_contractor="Bayline Builders")

        assert project["your_role"] == "admin"
        assert project["default_retainage_percent"] == "10"
        assert project["overbilling_policy"] == "block"
        assert project["reminder_offsets_days"] == [7, 1]
        assert project["terminology"] == "general_contractor"
        fetched = client.get(f"/api/v1/projects/{project['id']}", headers=admin).json()
        assert fetched["general_contractor"] == "Bayline Builders"

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        response = client.post("/api/v1/projects", json={"name": "X"})
        assert response.status_code == 401
        assert response.json()["message"] == "missing bearer API key"

    def test_with_a_wrong_key_is_401(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/projects", json={"name": "X"}, headers={"Authorization": "Bearer pd_nope"}
        )
        assert response.status_code == 401
        assert response.json()["message"] == "unknown or revoked API key"

    def test_a_bad_body_names_the_field_and_the_reason(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/projects",
            json={"name": "Tower", "default_retainage_percent": "150", "overbilling_policy": "x"},
            headers=admin,
        )
        assert response.status_code == 422
        fields = {error["field"]: error["reason"] for error in response.json()["errors"]}
        assert "less than or equal to 100" in fields["default_retainage_percent"]
        assert "'block' or 'warn'" in fields["overbilling_policy"]

    def test_an_unknown_field_is_refused(self, client: TestClient, admin: dict[str, str]) -> None:
        response = client.post(
            "/api/v1/projects", json={"name": "Tower", "retainage": "10"}, headers=admin
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "retainage"

    def test_creating_is_audited(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        project = create_project(client, admin)
        with Session(engine) as session:
            events = session.exec(
                select(AuditEvent).where(AuditEvent.entity_id == project["id"])
            ).all()
        assert [(event.action, event.actor) for event in events] == [
            ("create", "user:ap@gc.example")
        ]


class TestVisibility:
    def test_a_stranger_gets_404_for_the_project_and_its_commitments(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        project = create_project(client, admin)
        commitment = create_commitment(client, admin, project["id"])
        stranger = new_user_headers(engine, "someone@other-gc.example")

        for path in (
            f"/api/v1/projects/{project['id']}",
            f"/api/v1/commitments/{commitment['id']}",
            f"/api/v1/commitments/{commitment['id']}/billing-summary",
        ):
            response = client.get(path, headers=stranger)
            assert response.status_code == 404, path
            assert response.json()["error"] == "not_found"
        response = client.post(
            f"/api/v1/commitments/{commitment['id']}/sov/approve", headers=stranger
        )
        assert response.status_code == 404

    def test_a_viewer_reads_but_may_not_change(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        project = create_project(client, admin)
        add_member(client, admin, project["id"], "lender@bank.example", "viewer")
        viewer = new_user_headers(engine, "lender@bank.example")

        assert client.get(f"/api/v1/projects/{project['id']}", headers=viewer).status_code == 200
        response = client.post(
            f"/api/v1/projects/{project['id']}/commitments",
            json={"number": "SC-9", "vendor_name": "V"},
            headers=viewer,
        )
        assert response.status_code == 403
        assert response.json() == {
            "error": "forbidden",
            "message": "a viewer may not add commitments",
        }

    def test_a_reviewer_may_not_manage_members(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        project = create_project(client, admin)
        add_member(client, admin, project["id"], "pm@gc.example", "reviewer")
        reviewer = new_user_headers(engine, "pm@gc.example")
        response = client.post(
            f"/api/v1/projects/{project['id']}/members",
            json={"email": "x@gc.example", "role": "admin"},
            headers=reviewer,
        )
        assert response.status_code == 403
        assert response.json()["message"] == "a reviewer may not manage members"


class TestMembers:
    def test_members_are_listed_with_their_roles(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        project = create_project(client, admin)
        add_member(client, admin, project["id"], "PM@GC.example", "reviewer")
        add_member(client, admin, project["id"], "pm@gc.example", "viewer")

        members = client.get(f"/api/v1/projects/{project['id']}/members", headers=admin).json()
        assert [(m["email"], m["role"]) for m in members["members"]] == [
            ("ap@gc.example", "admin"),
            ("pm@gc.example", "viewer"),
        ]

    def test_a_bad_email_is_422(self, client: TestClient, admin: dict[str, str]) -> None:
        project = create_project(client, admin)
        response = client.post(
            f"/api/v1/projects/{project['id']}/members",
            json={"email": "not-an-email", "role": "admin"},
            headers=admin,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "email"


# The records table as files made before reservations had leases hold it.
OLD_RECORDS_TABLE = """
CREATE TABLE idempotency_records (
    id VARCHAR NOT NULL PRIMARY KEY, principal VARCHAR NOT NULL, key VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL, state VARCHAR NOT NULL, status_code INTEGER,
    response_body TEXT, created_at DATETIME NOT NULL, UNIQUE (principal, key)
)"""


class TestIdempotencyKey:
    def test_a_repeat_returns_the_first_answer_and_changes_nothing(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        headers = {**admin, "Idempotency-Key": "create-tower-1"}
        first = client.post("/api/v1/projects", json={"name": "Tower"}, headers=headers)
        second = client.post("/api/v1/projects", json={"name": "Tower"}, headers=headers)

        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second.headers["idempotent-replayed"] == "true"
        with Session(engine) as session:
            assert len(session.exec(select(Project)).all()) == 1

    def test_the_same_key_for_a_different_request_is_refused(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        headers = {**admin, "Idempotency-Key": "k-1"}
        client.post("/api/v1/projects", json={"name": "Tower"}, headers=headers)
        response = client.post("/api/v1/projects", json={"name": "Other"}, headers=headers)
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "Idempotency-Key", "reason": "was already used for a different request"}
        ]

    def test_keys_belong_to_their_caller(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        other = new_user_headers(engine, "other@gc.example")
        a = client.post(
            "/api/v1/projects", json={"name": "T"}, headers={**admin, "Idempotency-Key": "same"}
        )
        b = client.post(
            "/api/v1/projects", json={"name": "T"}, headers={**other, "Idempotency-Key": "same"}
        )
        assert a.json()["id"] != b.json()["id"]

    def test_on_sqlite_the_keys_are_kept_in_a_file_beside_the_database(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        headers = {**admin, "Idempotency-Key": "beside"}
        first = client.post("/api/v1/projects", json={"name": "Tower"}, headers=headers)
        again = client.post("/api/v1/projects", json={"name": "Tower"}, headers=headers)

        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        kept_in = companion_engine(engine, "requests")
        if engine.dialect.name == "sqlite":
            assert kept_in is not engine
            assert Path(kept_in.url.database or "").name == "paydraw-requests.db"
        else:
            assert kept_in is engine
        with Session(kept_in) as session:
            record = session.exec(
                select(IdempotencyRecord).where(IdempotencyRecord.key == "beside")
            ).one()
        assert (record.state, record.status_code) == ("done", 201)
        assert json.loads(record.response_body or "") == first.json()
        if kept_in is not engine:
            kept_in.dispose()
            with Session(engine) as session:
                assert session.exec(select(IdempotencyRecord)).all() == []

    def test_a_records_file_from_before_leases_takes_keys_again(
        self, admin: dict[str, str], engine: Engine, settings: Settings
    ) -> None:
        if engine.dialect.name != "sqlite":
            return
        records = companion_engine(engine, "requests")
        with records.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS idempotency_records"))
            connection.execute(text(OLD_RECORDS_TABLE))
        records.dispose()
        headers = {**admin, "Idempotency-Key": "after-upgrade"}
        with TestClient(create_app(settings, engine)) as client:
            first = client.post("/api/v1/projects", json={"name": "Tower"}, headers=headers)
            again = client.post("/api/v1/projects", json={"name": "Tower"}, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()

    def test_ten_racing_copies_create_one_project(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        headers = {**admin, "Idempotency-Key": "race"}

        def post() -> tuple[int, str]:
            response = client.post("/api/v1/projects", json={"name": "Race"}, headers=headers)
            return response.status_code, response.json()["id"]

        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda _: post(), range(10)))

        assert {status for status, _ in answers} == {201}
        assert len({project_id for _, project_id in answers}) == 1
        with Session(engine) as session:
            assert len(session.exec(select(Project)).all()) == 1


class TestReadiness:
    def test_a_database_behind_this_codes_schema_is_not_ready(self, tmp_path: Path) -> None:
        settings = Settings(
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'never-migrated.db'}",
            secret_key="test-secret",
            temporal_address="127.0.0.1:1",
        )
        with TestClient(create_app(settings)) as client:
            response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unready"
        assert body["checks"]["database"].startswith("schema at nothing")
        assert body["checks"]["database"].endswith("migrate")
        assert body["checks"]["temporal"] != "ok"


class TestCurrency:
    def test_a_project_shows_its_amounts_in_usd_unless_told(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        assert create_project(client, admin)["currency"] == "USD"
        assert create_project(client, admin, currency="CAD")["currency"] == "CAD"

    def test_an_unknown_currency_is_a_422_naming_it(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        for code in ("XYZ", "usd", "DOLLARS"):
            response = client.post(
                "/api/v1/projects", json={"name": "Tower", "currency": code}, headers=admin
            )
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == "currency"


class TestSettings:
    def test_an_admin_changes_only_the_settings_given_and_it_is_audited(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        project = create_project(client, admin)
        path = f"/api/v1/projects/{project['id']}"
        changed = client.patch(
            path,
            json={
                "overbilling_policy": "warn",
                "reminder_offsets_days": [3, 10],
                "currency": "CAD",
                "default_retainage_percent": "5",
            },
            headers=admin,
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["overbilling_policy"] == "warn"
        assert body["reminder_offsets_days"] == [10, 3]
        assert body["currency"] == "CAD"
        assert body["default_retainage_percent"] == "5"
        assert body["name"] == project["name"]  # not given: unchanged
        again = client.patch(path, json={"currency": "CAD"}, headers=admin)
        assert again.status_code == 200
        with Session(engine) as session:
            events = list(
                session.exec(select(AuditEvent).where(AuditEvent.action == "change_settings"))
            )
        assert len(events) == 1  # the repeat changed nothing
        assert events[0].detail["from"]["currency"] == "USD"
        assert events[0].detail["to"]["currency"] == "CAD"

    def test_a_bad_setting_is_422_naming_it_and_a_viewer_is_403(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        project = create_project(client, admin)
        path = f"/api/v1/projects/{project['id']}"
        for bad, field in (
            ({"currency": "XYZ"}, "currency"),
            ({"reminder_offsets_days": [1, 1]}, "reminder_offsets_days"),
            ({"colour": "blue"}, "colour"),
        ):
            refused = client.patch(path, json=bad, headers=admin)
            assert refused.status_code == 422, bad
            assert refused.json()["errors"][0]["field"] == field
        add_member(client, admin, project["id"], "lender@bank.example", "viewer")
        viewer = new_user_headers(engine, "lender@bank.example")
        forbidden = client.patch(path, json={"currency": "EUR"}, headers=viewer)
        assert forbidden.status_code == 403
        assert forbidden.json()["message"] == "a viewer may not change its settings"
