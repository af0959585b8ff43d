"""Metrics an operator scrapes: the API's requests and the business figures at the API's
/metrics, the Temporal SDK's own series at the worker's, after a short lifecycle."""

import asyncio
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from paydraw.runner import WORKER_COMMAND, Child
from paydraw.settings import Settings
from tests.support.postgres import free_port
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    accept_invite,
    api_client,
    invited_period,
    post,
    process_environment,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def named(found: Samples, name: str) -> list[float]:
    return [amount for (sample, _), amount in found.items() if sample == name]


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


class TestMetrics:
    async def test_a_short_lifecycle_shows_in_the_api_and_worker_series(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
        tmp_path: Path,
    ) -> None:
        env = dev_server_env
        worker_metrics = f"127.0.0.1:{free_port()}"
        settings = process_settings.model_copy(update={"worker_metrics_address": worker_metrics})
        worker = await Child.spawn(
            "worker", WORKER_COMMAND, tmp_path, process_environment(env, settings)
        )
        try:
            async with api_client(env, settings, engine) as api:
                period = await invited_period(env, api, admin, smtp, due_in_days=14)
                [commitment_id] = period.commitment_ids
                contact = await accept_invite(api, smtp, period.contacts[0])
                commitment = await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)
                line_id = commitment.json()["sov_lines"][0]["id"]
                lines = {"sov_line_id": line_id, "work_this_period": "1000.00"}
                filled = await api.put(
                    "/api/v1/contact/pay-app/lines",
                    json={"entry": {"mode": "per_line_amounts", "lines": [lines]}},
                    headers=contact,
                )
                assert filled.status_code in (200, 201), filled.text
                await post(api, "/api/v1/contact/pay-app/submit", contact)
                api_series = samples((await api.get("/metrics")).text)
            worker_series = samples(
                await asyncio.to_thread(scrape, f"http://{worker_metrics}/metrics")
            )
        finally:
            await worker.stop()

        requests = "paydraw_http_requests_total"
        assert (
            value(api_series, requests, route="/api/v1/projects", method="POST", status="201") == 1
        )
        assert (
            value(
                api_series,
                requests,
                route="/api/v1/commitments/{commitment_id}",
                method="GET",
                status="200",
            )
            == 1
        )
        assert (
            value(
                api_series,
                "paydraw_http_request_duration_seconds_count",
                route="/api/v1/contact/pay-app/submit",
                method="POST",
            )
            == 1
        )
        assert value(api_series, "paydraw_invitations", status="accepted") == 1
        assert value(api_series, "paydraw_emails", kind="invite", status="sent") == 1
        assert value(api_series, "paydraw_pay_apps", status="under_review") == 1
        assert value(api_series, "paydraw_emails_retrying") == 0
        assert value(api_series, "paydraw_email_oldest_queued_seconds") >= 0

        # The SDK's own series: activities ran, workflow tasks were timed, slots are reported.
        assert sum(named(worker_series, "temporal_activity_execution_latency_seconds_count")) >= 3
        assert (
            sum(named(worker_series, "temporal_workflow_task_execution_latency_seconds_count")) > 0
        )
        assert named(worker_series, "temporal_worker_task_slots_available")
