"""The page tests use the workflow tests' Temporal dev server, SMTP server and settings, and
Paydraw served as a person reaches it (`served`)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from paydraw.settings import Settings
from tests.support.postgres import free_port
from tests.support.temporal import billing_worker
from tests.workflows.conftest import dev_server_env, process_settings, smtp
from tests.workflows.helpers import api_process

__all__ = ["dev_server_env", "process_settings", "served", "smtp"]


@dataclass(frozen=True)
class Served:
    """Where the browser goes (`url`, which the emails' links name too), and a client of the
    same API for what a test sets up without the browser."""

    url: str
    api: httpx.AsyncClient
    settings: Settings


@pytest.fixture
async def served(
    dev_server_env: WorkflowEnvironment, process_settings: Settings, engine: Engine
) -> AsyncIterator[Served]:
    """The API in a process of its own on a free port, as an operator runs it, with the billing
    worker on the dev server."""
    port = free_port()
    settings = process_settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    async with (
        api_process(dev_server_env, settings, port=port) as (_, url),
        billing_worker(dev_server_env.client, settings, engine),
        httpx.AsyncClient(base_url=url, timeout=30) as api,
    ):
        yield Served(url, api, settings)
