"""What an operator reads: the API's and the worker's logs as JSON lines, one request followed by
its id from the HTTP request into its workflow update and the activity that applied it, a
domain refusal as one info line without a traceback, and no secret anywhere in a lifecycle."""

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from paydraw.runner import WORKER_COMMAND, Child
from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    accept_invite,
    api_process,
    invited_period,
    process_environment,
)

CONTACT = "billing@vendor-0.example"


def records(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a process's log (the runner's own banner lines are not JSON)."""
    found = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


async def test_a_request_id_follows_the_request_and_no_record_holds_a_secret(
    dev_server_env: WorkflowEnvironment,
    process_settings: Settings,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],
    tmp_path: Path,
) -> None:
    env = dev_server_env
    settings = process_settings.model_copy(update={"secret_key": "signing-secret-8d2f61"})
    worker = await Child.spawn(
        "worker", WORKER_COMMAND, tmp_path, process_environment(env, settings)
    )
    try:
        async with (
            api_process(env, settings) as (api_child, url),
            httpx.AsyncClient(base_url=url, timeout=60) as api,
        ):
            period = await invited_period(env, api, admin, smtp, due_in_days=14)
            project_id, [commitment_id] = period.project_id, period.commitment_ids
            contact = await accept_invite(api, smtp, CONTACT)
            token = contact["Authorization"].removeprefix("Bearer ")
            commitment = await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)
            line_id = commitment.json()["sov_lines"][0]["id"]

            def lines(amount: str) -> dict[str, Any]:
                entry = [{"sov_line_id": line_id, "work_this_period": amount}]
                return {"entry": {"mode": "per_line_amounts", "lines": entry}}

            over = await api.put(
                "/api/v1/contact/pay-app/lines",
                json=lines("99999999.00"),
                headers=contact | {"X-Request-ID": "req-over-billed"},
            )
            assert over.status_code == 422, over.text
            assert over.headers["X-Request-ID"] == "req-over-billed"
            filled = await api.put(
                "/api/v1/contact/pay-app/lines", json=lines("1000.00"), headers=contact
            )
            assert filled.status_code == 201, filled.text
            submitted = await api.post(
                "/api/v1/contact/pay-app/submit",
                headers=contact | {"X-Request-ID": "req-submit-7f3a"},
            )
            assert submitted.status_code == 200, submitted.text
            assert submitted.headers["X-Request-ID"] == "req-submit-7f3a"
            generated = (await api.get("/healthz")).headers["X-Request-ID"]
        api_log = api_child.log_path.read_text()
    finally:
        await worker.stop()
    worker_log = (tmp_path / "worker.log").read_text()

    assert len(generated) >= 16  # one is made when the caller sends none
    logged = records(api_child.log_path) + records(tmp_path / "worker.log")
    submit = [record for record in logged if record.get("request_id") == "req-submit-7f3a"]
    # The API's line for the request, the workflow's for the update, the activity's for the step.
    [line] = [r for r in submit if r["logger"] == "paydraw.http"]
    assert "submit" in line["message"] and line["pay_app_id"] == submitted.json()["id"], line
    assert any(r["logger"] == "temporalio.workflow" for r in submit), submit
    assert any(r.get("activity") == "apply_pay_app_step" for r in submit), submit
    assert all(r.get("actor", "").startswith("contact:") for r in submit if "actor" in r)
    # The actor, the project and the pay app travel with the request id into the workflow's and
    # the activity's records.
    downstream = [r for r in submit if r["logger"] != "paydraw.http"]
    assert downstream and all(
        r.get("project_id") == project_id
        and r.get("pay_app_id") == submitted.json()["id"]
        and r.get("actor", "").startswith("contact:")
        for r in downstream
    ), downstream
    assert line["project_id"] == project_id, line

    refused = [record for record in logged if record.get("request_id") == "req-over-billed"]
    refusals = [r for r in refused if "refused" in r["message"]]
    assert refusals and all(r["level"] == "info" and "error" not in r for r in refusals)
    assert not [r for r in logged if r["level"] in ("warning", "error") and "error" in r]

    secrets = [settings.secret_key, token, admin["Authorization"].removeprefix("Bearer ")]
    for secret in secrets:
        assert secret not in api_log and secret not in worker_log
