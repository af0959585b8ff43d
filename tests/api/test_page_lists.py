"""The staff pages' lists go past their first page: projects, a project's commitments and the
review queue show 50 rows and a link to the next 50, paged by the same cursor as the API's lists
(nothing skipped, nothing twice), instead of stopping at a fixed number."""

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from paydraw import actors
from paydraw.db.tables import User
from paydraw.domain.transitions import Role
from paydraw.pay_apps import service as pay_apps
from paydraw.pay_apps.notify import Links
from paydraw.pay_apps.schemas import PayAppCreate
from paydraw.periods.schemas import PeriodCreate
from paydraw.periods.service import open_period
from paydraw.settings import Settings
from tests.api.helpers import create_commitment, create_project, sign_in_browser

ROWS = 50  # a list page's rows
ONE_MORE = ROWS + 1


def next_link(html: str, what: str) -> str:
    found = re.search(rf'<a href="(\?[^"#]+)[^"]*">Next {what}</a>', html)
    assert found is not None, html
    return found[1].replace("&amp;", "&")


def shown(html: str, pattern: str) -> list[str]:
    return re.findall(pattern, html)


class TestListPages:
    def test_projects_and_a_project_s_commitments_page_past_the_first_50(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        projects = [create_project(client, admin, name=f"Tower {n:02d}") for n in range(ONE_MORE)]
        first = projects[0]["id"]
        for n in range(ONE_MORE):
            create_commitment(client, admin, first, number=f"SC-{n:03d}", sov_lines=[])
        sign_in_browser(client, engine, "ap@gc.example")

        page = client.get("/projects")
        names = shown(page.text, r'<a href="/projects/[^"]+">(Tower \d+)</a>')
        assert names == [f"Tower {n:02d}" for n in range(ROWS)]
        rest = client.get("/projects" + next_link(page.text, "projects"))
        assert shown(rest.text, r'<a href="/projects/[^"]+">(Tower \d+)</a>') == ["Tower 50"]
        assert "Next projects" not in rest.text and "First projects" in rest.text

        page = client.get(f"/projects/{first}")
        numbers = shown(page.text, r'<a href="/commitments/[^"]+">(SC-\d+)</a></td>')
        assert numbers == [f"SC-{n:03d}" for n in range(ROWS)]
        rest = client.get(f"/projects/{first}" + next_link(page.text, "subcontracts"))
        numbers = shown(rest.text, r'<a href="/commitments/[^"]+">(SC-\d+)</a></td>')
        assert numbers == ["SC-050"]
        assert "Next subcontracts" not in rest.text

        broken = client.get(f"/projects/{first}?commitments=not-a-cursor")
        assert broken.status_code == 422
        assert broken.headers["content-type"].startswith("text/html")
        assert "Please check cursor: not a cursor this list gave out." in broken.text

    def test_the_queue_pages_past_the_first_50(
        self, client: TestClient, admin: dict[str, str], engine: Engine, settings: Settings
    ) -> None:
        project = create_project(client, admin)
        ids = [
            create_commitment(client, admin, project["id"], number=f"SC-{n:03d}")["id"]
            for n in range(ONE_MORE)
        ]
        for commitment_id in ids:
            client.post(f"/api/v1/commitments/{commitment_id}/sov/approve", headers=admin)
        today = date.today()
        with Session(engine) as session:  # 51 pay apps submitted for review
            user = session.exec(select(User).where(User.email == "ap@gc.example")).one()
            admin_actor = actors.user(user.id, user.email)
            dates = PeriodCreate(
                start_date=today,
                end_date=today + timedelta(days=29),
                due_date=today + timedelta(days=20),
            )
            period, _ = open_period(session, admin_actor, project["id"], dates)
            entry = PayAppCreate.model_validate(
                {"entry": {"mode": "contract_percent", "percent": "10"}}
            )
            for commitment_id in ids:
                made = pay_apps.create(
                    session, admin_actor, Role.ADMIN, commitment_id, period.id, entry
                )
                pay_apps.submit(session, admin_actor, Role.ADMIN, made.id, links=Links(settings))
            session.commit()
        sign_in_browser(client, engine, "ap@gc.example")

        page = client.get("/queue")
        waiting = shown(page.text, r'<a href="/pay-apps/[^"]+">(SC-\d+) #1</a>')
        assert waiting == [f"SC-{n:03d}" for n in range(ROWS)]  # oldest first
        rest = client.get("/queue" + next_link(page.text, "pay applications"))
        assert shown(rest.text, r'<a href="/pay-apps/[^"]+">(SC-\d+) #1</a>') == ["SC-050"]
