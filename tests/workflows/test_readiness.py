"""/readyz follows what the API needs: it turns unready when the database or the Temporal server
goes away, or no worker polls, and ready again when they are back."""

import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from paydraw.db.engine import make_engine
from paydraw.db.migrate import upgrade
from paydraw.runner import Child, temporal_answers, temporal_command
from paydraw.settings import Settings
from paydraw.temporal_client import connect
from tests.support.postgres import PostgresServer, free_port
from tests.support.temporal import billing_worker
from tests.workflows.helpers import wait_for


@asynccontextmanager
async def temporal_server(settings: Settings) -> AsyncIterator[Child]:
    """The dev server on the settings' port, persisted to a file, as `paydraw run` starts it."""
    server = await Child.spawn("temporal", temporal_command(settings), settings.data_dir)
    try:
        await wait_for(lambda: temporal_answers(settings), timeout=60, what="Temporal")
        yield server
    finally:
        await server.stop()


async def readiness(api: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await api.get("/readyz")
    return response.status_code, response.json()


async def becomes(api: httpx.AsyncClient, status_code: int, **checks: str) -> dict[str, Any]:
    """Wait until /readyz answers ``status_code`` with each named check's answer containing the
    given text; returns the body."""
    seen: dict[str, Any] = {}

    async def matches() -> bool:
        nonlocal seen
        code, seen = await readiness(api)
        return code == status_code and all(
            text in seen["checks"][name] for name, text in checks.items()
        )

    await wait_for(matches, timeout=90, what=f"/readyz {status_code} {checks}")
    return seen


@pytest.mark.slow
class TestReadiness:
    async def test_unready_while_the_database_or_temporal_is_away(self, tmp_path: Path) -> None:
        with PostgresServer.started() as database:
            upgrade(database.url)
            engine = make_engine(database.url)
            settings = Settings(
                data_dir=tmp_path,
                database_url=database.url,
                secret_key="test-secret",
                temporal_address=f"127.0.0.1:{free_port()}",
                temporal_ui_port=free_port(),
                temporal_task_queue="readiness",
            )
            app = create_app(settings, engine)
            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://paydraw.test") as api,
                temporal_server(settings) as first_server,
            ):
                await becomes(api, 503, database="ok", temporal="no worker polls")
                client: Client = await connect(settings)
                async with billing_worker(client, settings, engine):
                    body = await becomes(api, 200)
                    assert body == {
                        "status": "ready",
                        "checks": {"database": "ok", "temporal": "ok"},
                    }

                    database.stop()
                    await becomes(api, 503, database="does not answer", temporal="ok")
                    database.start()
                    await becomes(api, 200)

                    os.killpg(first_server.process.pid, signal.SIGKILL)
                    await first_server.process.wait()
                    await becomes(api, 503, database="ok", temporal="does not answer")
                    async with temporal_server(settings):
                        await becomes(api, 200)
            engine.dispose()
