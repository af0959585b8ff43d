"""OpenTelemetry traces, as a collector receives them: with an OTLP endpoint set, one trace runs
from the API's HTTP request through the workflow update into the activity that applied it,
across the API's and the worker's processes; without one, nothing is set up."""

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from paydraw import tracing
from paydraw.runner import WORKER_COMMAND, Child
from paydraw.settings import Settings
from tests.support.otlp import OtlpReceiver, ReceivedSpan
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    accept_invite,
    api_process,
    invited_period,
    post,
    process_environment,
    wait_for,
)

SUBMIT = "POST /api/v1/contact/pay-app/submit"


async def test_one_trace_from_the_http_request_to_the_activity(
    dev_server_env: WorkflowEnvironment,
    process_settings: Settings,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],
    tmp_path: Path,
) -> None:
    env = dev_server_env
    with OtlpReceiver() as collector:
        settings = process_settings.model_copy(update={"otlp_endpoint": collector.endpoint})
        variables = process_environment(env, settings) | {"OTEL_BSP_SCHEDULE_DELAY": "200"}
        worker = await Child.spawn("worker", WORKER_COMMAND, tmp_path, variables)
        try:
            async with (
                api_process(env, settings) as (_api, url),
                httpx.AsyncClient(base_url=url, timeout=60) as api,
            ):
                period = await invited_period(env, api, admin, smtp, due_in_days=14)
                [commitment_id] = period.commitment_ids
                contact = await accept_invite(api, smtp, period.contacts[0])
                commitment = await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)
                line_id = commitment.json()["sov_lines"][0]["id"]
                entry: dict[str, Any] = {
                    "mode": "per_line_amounts",
                    "lines": [{"sov_line_id": line_id, "work_this_period": "1000.00"}],
                }
                filled = await api.put(
                    "/api/v1/contact/pay-app/lines", json={"entry": entry}, headers=contact
                )
                assert filled.status_code == 201, filled.text
                await post(api, "/api/v1/contact/pay-app/submit", contact)

                await wait_for(
                    lambda: submit_story(collector) is not None, timeout=30, what="the trace"
                )
        finally:
            await worker.stop()

    story = submit_story(collector)
    assert story is not None
    request, update, activity = story
    assert (request.service, update.service, activity.service) == (
        "paydraw-api",
        "paydraw-worker",
        "paydraw-worker",
    )


def submit_story(collector: OtlpReceiver) -> tuple[ReceivedSpan, ...] | None:
    """The submit's HTTP span, the workflow's span of the update it sent, and the span of the
    activity that applied it. Temporal's interceptor keeps a workflow's spans in the trace of
    the request that started it; the update's span links to the request that sent it."""
    spans = list(collector.spans)
    by_id = {span.span_id: span for span in spans}
    for request in (s for s in spans if s.name == SUBMIT and not s.parent_id):
        sent = {
            (s.trace_id, s.span_id)
            for s in spans
            if s.trace_id == request.trace_id and s.name == "StartWorkflowUpdate:pay_app"
        }
        for update in (s for s in spans if s.name == "HandleUpdate:pay_app"):
            if not sent & set(update.links):
                continue
            for activity in spans:
                parent = by_id.get(activity.parent_id)
                if (
                    activity.name == "RunActivity:apply_pay_app_step"
                    and parent is not None
                    and parent.name == "StartActivity:apply_pay_app_step"
                    and parent.parent_id == update.parent_id
                    and parent.trace_id == update.trace_id
                ):
                    return request, update, activity
    return None


def test_without_an_endpoint_nothing_is_set_up(settings: Settings) -> None:
    assert tracing.configure(settings, "paydraw-test") is False
    assert tracing.temporal_interceptors(settings) == []
