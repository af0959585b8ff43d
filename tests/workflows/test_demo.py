"""`paydraw demo` next to a running Paydraw: one demo project, this month's period, invites sent;
run again, it adds nothing."""

import asyncio
import calendar
from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from paydraw.cli import seed_demo
from paydraw.db.tables import BillingPeriod, Project
from paydraw.settings import Settings, get_settings
from tests.support.smtp import SmtpTestServer
from tests.support.temporal import billing_worker
from tests.workflows.helpers import api_process, wait_for


class TestDemo:
    async def test_run_twice_it_seeds_one_project_with_this_months_period(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        env = dev_server_env
        async with (
            api_process(env, process_settings) as (_, url),
            billing_worker(env.client, process_settings, engine),
        ):
            # The command finds Paydraw as an operator's shell would: PAYDRAW_* variables.
            monkeypatch.setenv("PAYDRAW_DATABASE_URL", process_settings.resolved_database_url)
            monkeypatch.setenv("PAYDRAW_PUBLIC_URL", url)
            get_settings.cache_clear()
            try:
                await asyncio.to_thread(seed_demo)
                await wait_for(lambda: len(smtp.received) == 3, what="the three demo invites")
                await asyncio.to_thread(seed_demo)
                await asyncio.sleep(1)  # a second round of invites would arrive now
            finally:
                get_settings.cache_clear()

        assert len(smtp.received) == 3
        with Session(engine) as session:
            projects = session.exec(select(Project)).all()
            periods = session.exec(select(BillingPeriod)).all()
        assert [project.name for project in projects] == ["Harbor View Tower"]
        [period] = periods
        today = date.today()
        last_day = calendar.monthrange(today.year, today.month)[1]
        assert period.start_date == today.replace(day=1)
        assert period.end_date == today.replace(day=last_day)
