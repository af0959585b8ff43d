"""The API process dies in the middle of a request: a resend with the same Idempotency-Key after
it is back reattaches to the same action and answers with its result, and the action happens
once."""

import asyncio
import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from paydraw.db.engine import companion_engine
from paydraw.db.tables import AuditEvent, IdempotencyRecord
from paydraw.settings import Settings
from tests.support.temporal import billing_worker
from tests.workflows.helpers import (
    api_client,
    api_process,
    open_period,
    post,
    project_with_commitments,
    wait_for,
)

KEY = {"Idempotency-Key": "submit-17"}


def in_progress(engine: Engine) -> bool:
    records = companion_engine(engine, "requests")
    with Session(records) as session:
        found = session.exec(
            select(IdempotencyRecord).where(IdempotencyRecord.key == KEY["Idempotency-Key"])
        ).first()
    return found is not None and found.state == "in_progress"


def submissions(engine: Engine, pay_app_id: str) -> int:
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.entity_id == pay_app_id, col(AuditEvent.to_state) == "under_review"
            )
        ).all()
    return len(events)


@pytest.mark.slow
class TestApiKilledMidRequest:
    async def test_a_resend_after_the_restart_answers_with_the_action_done_once(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        admin: dict[str, str],
        tmp_path: Path,
    ) -> None:
        env = dev_server_env
        async with (
            api_client(env, process_settings, engine) as api,
            billing_worker(env.client, process_settings, engine),
        ):
            project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
            period_id = await open_period(env, api, admin, project_id, due_in_days=14)
            commitment = (
                await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)
            ).json()
            created = await post(
                api,
                f"/api/v1/billing-periods/{period_id}/commitments/{commitment_id}/pay-apps",
                admin,
                entry={
                    "mode": "per_line_amounts",
                    "lines": [
                        {
                            "sov_line_id": commitment["sov_lines"][1]["id"],
                            "work_this_period": "12000.00",
                        }
                    ],
                },
            )
        submit = f"/api/v1/pay-apps/{created['id']}/submit"

        # No worker runs now, so the submit waits for one: the API is killed while it waits.
        async with (
            api_process(env, process_settings, "api") as (first, url),
            httpx.AsyncClient(base_url=url, timeout=120) as client,
        ):
            waiting = asyncio.ensure_future(client.post(submit, headers=admin | KEY))
            await wait_for(lambda: in_progress(engine), what="the request to be running")
            first._signal_group(signal.SIGKILL)
            await first.process.wait()
            try:
                await waiting
            except httpx.HTTPError:
                pass  # the connection died with the process
            else:
                raise AssertionError("the killed API answered")

        async with (
            api_process(env, process_settings, "api-again") as (_, url),
            billing_worker(env.client, process_settings, engine),
            httpx.AsyncClient(base_url=url, timeout=120) as client,
        ):
            resent = await client.post(submit, headers=admin | KEY)
            again = await client.post(submit, headers=admin | KEY)

        assert resent.status_code == 200, resent.text
        assert resent.json()["status"] == "under_review"
        assert again.status_code == 200 and again.json() == resent.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert submissions(engine, created["id"]) == 1
