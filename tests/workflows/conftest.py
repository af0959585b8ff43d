"""Fixtures for the billing process: the Temporal servers, a real SMTP server, test settings."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.support.temporal import dev_server, time_skipping


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
