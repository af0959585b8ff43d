"""An activity that fails from an outage retries as long as the outage lasts; one that fails
from a bug gives up after a few attempts, so it shows instead of retrying silently forever."""

import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.bounded import BUG_ATTEMPTS, BoundedBugRetries
from emails.sender import TemporaryDeliveryError

OUTAGE_ATTEMPTS = BUG_ATTEMPTS + 3
attempts: dict[str, int] = {}


@activity.defn
async def buggy() -> None:
    attempts["buggy"] = activity.info().attempt
    raise KeyError("a row no code expects")


@activity.defn
async def through_an_outage() -> str:
    attempts["outage"] = activity.info().attempt
    if activity.info().attempt < OUTAGE_ATTEMPTS:
        raise TemporaryDeliveryError("451 try again later")
    return "sent"


@workflow.defn
class RetriesWithoutEnd:
    @workflow.run
    async def run(self, name: str) -> str:
        result: str = await workflow.execute_activity(
            name,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=1),
        )
        return result


async def run(env: WorkflowEnvironment, name: str) -> str:
    queue = f"bounded-{uuid.uuid4().hex}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[RetriesWithoutEnd],
        activities=[buggy, through_an_outage],
        interceptors=[BoundedBugRetries()],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        return await env.client.execute_workflow(
            RetriesWithoutEnd.run,
            name,
            id=f"bounded-{uuid.uuid4().hex}",
            task_queue=queue,
            # Without the bound, the bug's retries would end only here.
            execution_timeout=timedelta(seconds=60),
        )


class TestBoundedRetries:
    async def test_a_bug_gives_up_after_a_few_attempts(
        self, time_skipping_env: WorkflowEnvironment
    ) -> None:
        with pytest.raises(WorkflowFailureError) as failed:
            await run(time_skipping_env, "buggy")
        cause = failed.value.cause
        assert isinstance(cause, ActivityError)
        assert isinstance(cause.cause, ApplicationError)
        assert cause.cause.type == "Bug" and cause.cause.non_retryable
        assert "KeyError" in cause.cause.message
        assert attempts["buggy"] == BUG_ATTEMPTS

    async def test_an_outage_retries_as_long_as_it_lasts(
        self, time_skipping_env: WorkflowEnvironment
    ) -> None:
        assert await run(time_skipping_env, "through_an_outage") == "sent"
        assert attempts["outage"] == OUTAGE_ATTEMPTS
