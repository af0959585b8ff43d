"""Fixtures for the billing process: the Temporal servers, a real SMTP server, test settings."""

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.support.temporal import billing_worker, dev_server, time_skipping
from tests.workflows.helpers import Paydraw, api_client


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh test server per test: a clock moved by one test never fires another's timers."""
    env = await time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await dev_server()
    yield env
    await env.shutdown()


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    server = SmtpTestServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def process_settings(tmp_path: Path, database_url: str, smtp: SmtpTestServer) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key="test-secret",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        public_url="http://paydraw.test",
        # A task queue per test: workflows left waiting by one test never meet another's worker.
        temporal_task_queue=f"paydraw-test-{uuid.uuid4().hex}",
    )


@asynccontextmanager
async def running(
    env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> AsyncIterator[Paydraw]:
    async with (
        api_client(env, settings, engine) as api,
        billing_worker(env.client, settings, engine),
    ):
        yield Paydraw(env, api)


@pytest.fixture
async def on_dev_server(
    dev_server_env: WorkflowEnvironment, process_settings: Settings, engine: Engine
) -> AsyncIterator[Paydraw]:
    """Paydraw on the real dev server: the real clock, real timers."""
    async with running(dev_server_env, process_settings, engine) as paydraw:
        yield paydraw


@pytest.fixture
async def time_skipping_paydraw(
    time_skipping_env: WorkflowEnvironment, process_settings: Settings, engine: Engine
) -> AsyncIterator[Paydraw]:
    """Paydraw on the time-skipping test server, whose clock a test moves with ``env.sleep``."""
    async with running(time_skipping_env, process_settings, engine) as paydraw:
        yield paydraw
