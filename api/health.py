"""Liveness and readiness, for load balancers, orchestrators and operators.

``/healthz`` says the process answers. ``/readyz`` says it can serve: the database answers at the
schema this code expects, the Temporal server answers, and a worker polls the task queue (without
one, every action would wait for its answer until it times out).
"""

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from api.process import get_temporal
from paydraw.db.migrate import current_revision, head_revision
from paydraw.settings import Settings

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT_SECONDS = 3.0
# A worker's long poll lasts about a minute and its last access is its poll's start, so a worker
# seen within this window still polls.
POLLER_SEEN_WITHIN = timedelta(minutes=2)


class Readiness(BaseModel):
    status: str = Field(description="`ready` or `unready`.")
    checks: dict[str, str] = Field(description="Each check: `ok`, or what is wrong.")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the API process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: `checks` says what and why."}},
)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database (schema current), the Temporal server and a polling worker."""
    engine: Engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    checks = {
        "database": await within_time(anyio.to_thread.run_sync(database_problem, engine)),
        "temporal": await within_time(temporal_problem(request, settings)),
    }
    ready = all(problem is None for problem in checks.values())
    body = {
        "status": "ready" if ready else "unready",
        "checks": {name: problem or "ok" for name, problem in checks.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def within_time(check: Awaitable[str | None]) -> str | None:
    """The check's problem, or that it did not answer in time."""
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s"


def database_problem(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = current_revision(connection)
    except Exception as error:  # whatever the driver says, the database does not answer
        return f"does not answer: {type(error).__name__}"
    if current != head_revision():
        return f"schema at {current or 'nothing'}, this code needs {head_revision()}: migrate"
    return None


async def temporal_problem(request: Request, settings: Settings) -> str | None:
    try:
        client = await get_temporal(request)
        if not await client.service_client.check_health():
            return "the Temporal server is not serving"
        return await poller_problem(client, settings.temporal_task_queue)
    except Exception as error:  # unreachable, refused, or the connection failed on the way
        return f"does not answer: {type(error).__name__}"


async def poller_problem(client: Client, task_queue: str) -> str | None:
    since = datetime.now(UTC) - POLLER_SEEN_WITHIN
    for task_type, name in (
        (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "workflow"),
        (TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, "activity"),
    ):
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=task_type,
            )
        )
        polling = [
            poller
            for poller in described.pollers
            if poller.last_access_time.ToDatetime(tzinfo=UTC) >= since
        ]
        if not polling:
            return f"no worker polls the {name} tasks of task queue {task_queue}"
    return None
