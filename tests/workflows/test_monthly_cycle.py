"""The automatic monthly billing cycle: a Temporal Schedule per project on the dev server."""

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from paydraw.db.tables import BillingPeriod
from paydraw.periods.service import monthly_period_dates
from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    Paydraw,
    api_client,
    post,
    project_with_commitments,
    today,
    wait_for,
)
from workflows.monthly_cycle import schedule_id


class TestPeriodDates:
    @pytest.mark.parametrize(
        ("today", "due_day", "expected"),
        [
            (date(2026, 11, 1), 25, (date(2026, 11, 1), date(2026, 11, 30), date(2026, 11, 25))),
            (date(2026, 12, 20), 5, (date(2026, 12, 20), date(2027, 1, 19), date(2027, 1, 5))),
            (date(2027, 1, 28), 28, (date(2027, 1, 28), date(2027, 2, 27), date(2027, 1, 28))),
        ],
    )
    def test_a_period_runs_a_month_and_is_due_on_the_due_day(
        self, today: date, due_day: int, expected: tuple[date, date, date]
    ) -> None:
        assert monthly_period_dates(today, due_day) == expected


class TestBillingCycleSchedule:
    async def test_the_schedule_closes_the_open_period_opens_the_next_and_invites(
        self,
        on_dev_server: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        project_id, ids = await project_with_commitments(api, admin, 2)
        last_month = await today(env) - timedelta(days=30)
        old = await post(
            api,
            f"/api/v1/projects/{project_id}/billing-periods",
            admin,
            start_date=last_month.isoformat(),
            end_date=(last_month + timedelta(days=29)).isoformat(),
            due_date=(last_month + timedelta(days=25)).isoformat(),
        )
        old_period = old["id"]
        cycle = {"enabled": True, "start_day": 1, "due_day": 20}
        response = await api.put(
            f"/api/v1/projects/{project_id}/billing-cycle", json=cycle, headers=admin
        )
        assert response.json()["billing_cycle"] == cycle

        handle = env.client.get_schedule_handle(schedule_id(project_id))
        described = await handle.describe()
        (calendar,) = described.schedule.spec.calendars
        assert [r.start for r in calendar.day_of_month] == [1]
        assert described.info.next_action_times[0].day == 1

        await handle.trigger()
        await wait_for(lambda: len(smtp.received) == 2, timeout=60, what="cycle invites")
        with Session(engine) as session:
            periods = session.exec(
                select(BillingPeriod).order_by(col(BillingPeriod.created_at))
            ).all()
        assert [(p.id == old_period, p.status) for p in periods] == [
            (True, "closed"),
            (False, "open"),
        ]
        assert periods[1].due_date.day == 20
        board = (await api.get(f"/api/v1/billing-periods/{periods[1].id}", headers=admin)).json()
        assert board["counts"]["invited"] == len(ids)

        off = await api.put(
            f"/api/v1/projects/{project_id}/billing-cycle",
            json={**cycle, "enabled": False},
            headers=admin,
        )
        assert off.status_code == 200
        with pytest.raises(Exception, match="not found"):
            await handle.describe()


async def test_a_project_created_with_the_cycle_on_gets_its_schedule(
    dev_server_env: WorkflowEnvironment,
    process_settings: Settings,
    engine: Engine,
    admin: dict[str, str],
) -> None:
    async with api_client(dev_server_env, process_settings, engine) as api:
        project = await post(
            api,
            "/api/v1/projects",
            admin,
            name="Cycle Tower",
            billing_cycle={"enabled": True, "start_day": 5, "due_day": 25},
        )
        described = await dev_server_env.client.get_schedule_handle(
            schedule_id(project["id"])
        ).describe()
        assert described.info.next_action_times[0].day == 5
