"""Where the worker runs workflow code: in Temporal's sandbox under test, outside it when
deployed (Settings.workflow_sandbox)."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from paydraw.settings import Settings
from paydraw.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.support.temporal import billing_worker


async def test_the_tests_run_every_workflow_in_the_sandbox(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    async with billing_worker(time_skipping_env.client, settings, engine) as worker:
        assert isinstance(worker.config()["workflow_runner"], SandboxedWorkflowRunner)


async def test_a_deployed_worker_runs_them_outside_it_unless_told_otherwise(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    client = time_skipping_env.client
    told_to = settings.model_copy(
        update={"workflow_sandbox": True, "temporal_task_queue": "sandboxed"}
    )
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with (
            build_worker(client, Settings(temporal_task_queue="deployed"), engine, executor) as a,
            build_worker(client, told_to, engine, executor) as b,
        ):
            assert isinstance(a.config()["workflow_runner"], UnsandboxedWorkflowRunner)
            assert isinstance(b.config()["workflow_runner"], SandboxedWorkflowRunner)
