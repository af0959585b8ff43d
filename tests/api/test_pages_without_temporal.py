"""A staff page's action while the billing process (Temporal) is out of reach: a page that says
it could not be done right now and nothing changed (503), never the API's JSON error body, and
nothing written. Pages that need no Temporal go on working."""

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.app import create_app
from paydraw import actors
from paydraw.db.tables import AuditEvent, BillingPeriod, Invitation, User
from paydraw.periods.schemas import PeriodCreate
from paydraw.periods.service import open_period
from paydraw.settings import Settings
from tests.api.helpers import create_commitment, create_project, csrf_of, sign_in_browser


@pytest.fixture
def stopped_temporal(tmp_path: Path, database_url: str, engine: Engine) -> Iterator[TestClient]:
    """The app with its Temporal server stopped: nothing listens at its address."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key="test-secret",
        temporal_address="127.0.0.1:1",
    )
    with TestClient(create_app(settings, engine)) as client:
        yield client


class TestWithTemporalStopped:
    def test_an_action_answers_with_a_page_and_changes_nothing(
        self, stopped_temporal: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        client = stopped_temporal
        project = create_project(client, admin)
        create_commitment(client, admin, project["id"])
        sign_in_browser(client, engine, "ap@gc.example")
        page = client.get(f"/projects/{project['id']}")
        assert page.status_code == 200  # reading needs no Temporal
        today = date.today()
        dates = {
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=29)).isoformat(),
            "due_date": (today + timedelta(days=20)).isoformat(),
        }

        opened = client.post(
            f"/projects/{project['id']}/billing-periods",
            data={**dates, "csrf_token": csrf_of(page.text)},
        )

        assert opened.status_code == 503
        assert opened.headers["content-type"].startswith("text/html")
        assert "This could not be done right now" in opened.text
        assert "nothing was changed" in opened.text
        assert "ap@gc.example" in opened.text  # still the signed-in page, with its navigation
        with Session(engine) as session:
            assert session.exec(select(BillingPeriod)).all() == []
            actions = [event.action for event in session.exec(select(AuditEvent))]
            assert "open" not in actions

        # Turning the monthly cycle on needs its Temporal Schedule: no setting changes either.
        settings = {
            "csrf_token": csrf_of(page.text),
            "default_retainage_percent": "5",
            "overbilling_policy": "block",
            "reminder_offsets_days": "7, 1",
            "terminology": "general_contractor",
            "currency": "USD",
            "cycle_enabled": "yes",
        }
        cycle = client.post(f"/projects/{project['id']}/settings", data=settings)
        assert cycle.status_code == 503
        assert "nothing was changed" in cycle.text
        unchanged = client.get(f"/api/v1/projects/{project['id']}", headers=admin).json()
        assert unchanged["billing_cycle"]["enabled"] is False
        assert unchanged["default_retainage_percent"] == "10"

        # The API's answer to the same request stays its JSON error body.
        api = client.post(
            f"/api/v1/projects/{project['id']}/billing-periods", json=dates, headers=admin
        )
        assert api.status_code == 503
        assert api.json()["error"] == "busy"

    def test_sending_invites_answers_with_a_page_and_invites_nobody(
        self, stopped_temporal: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        client = stopped_temporal
        project = create_project(client, admin)
        commitment = create_commitment(client, admin, project["id"])
        client.post(f"/api/v1/commitments/{commitment['id']}/sov/approve", headers=admin)
        today = date.today()
        with Session(engine) as session:  # opened without its workflow, as before an outage
            user = session.exec(select(User).where(User.email == "ap@gc.example")).one()
            period, _ = open_period(
                session,
                actors.user(user.id, user.email),
                project["id"],
                PeriodCreate(
                    start_date=today,
                    end_date=today + timedelta(days=29),
                    due_date=today + timedelta(days=20),
                ),
            )
            session.commit()
        sign_in_browser(client, engine, "ap@gc.example")
        board = client.get(f"/billing-periods/{period.id}")
        assert board.status_code == 200

        sent = client.post(
            f"/billing-periods/{period.id}/invites",
            data={"commitment_id": commitment["id"], "csrf_token": csrf_of(board.text)},
        )

        assert sent.status_code == 503
        assert sent.headers["content-type"].startswith("text/html")
        assert "This could not be done right now" in sent.text
        assert "nothing was changed" in sent.text
        with Session(engine) as session:
            assert session.exec(select(Invitation)).all() == []
        after = client.get(f"/billing-periods/{period.id}")
        assert '<strong id="count-not_invited">1</strong>' in after.text
