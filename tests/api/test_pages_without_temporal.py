"""A staff page's action while the billing process (Temporal) is out of reach: a page that says
it could not be done right now and nothing changed (503), never the API's JSON error body, and
nothing written. Pages that need no Temporal go on working."""

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.app import create_app
from paydraw.db.tables import AuditEvent, BillingPeriod, User
from paydraw.settings import Settings
from paydraw.users.sign_in import start_session
from tests.api.helpers import create_commitment, create_project


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


def sign_in(client: TestClient, engine: Engine) -> None:
    """A browser signed in as the admin (the session written as the sign-in link writes it)."""
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == "ap@gc.example")).one()
        settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
        client.cookies.set("paydraw_session", start_session(session, settings, user))
        session.commit()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found[1]


class TestWithTemporalStopped:
    def test_an_action_answers_with_a_page_and_changes_nothing(
        self, stopped_temporal: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        client = stopped_temporal
        project = create_project(client, admin)
        create_commitment(client, admin, project["id"])
        sign_in(client, engine)
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

        # The API's answer to the same request stays its JSON error body.
        api = client.post(
            f"/api/v1/projects/{project['id']}/billing-periods", json=dates, headers=admin
        )
        assert api.status_code == 503
        assert api.json()["error"] == "busy"
