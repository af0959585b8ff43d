"""Durability, shown: the worker process is killed mid-fan-out and started again."""

import asyncio
import math
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.relay import RELAY_GRACE_SECONDS
from emails.delivery import SENT_PER_WRITE
from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    api_client,
    open_period,
    post,
    process_environment,
    project_with_commitments,
    wait_for,
)
from workflows.billing_period import START_BATCH

COMMITMENTS = 200


@contextmanager
def worker_process(
    env: WorkflowEnvironment, settings: Settings, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m paydraw.worker`` as its own process, as an operator runs it."""
    # The same PAYDRAW_* variables as every other process a test starts (all the settings, the
    # secrets as they are), so a new setting reaches this worker too.
    environment = {**os.environ, **process_environment(env, settings)}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "paydraw.worker"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
class TestWorkerKilledDuringFanOut:
    async def test_every_invite_arrives_exactly_once(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
        tmp_path: Path,
    ) -> None:
        env = dev_server_env
        log = tmp_path / "worker.log"
        async with api_client(env, process_settings, engine) as api:
            project_id, ids = await project_with_commitments(api, admin, COMMITMENTS)
            period_id = await open_period(env, api, admin, project_id, due_in_days=14)
            with worker_process(env, process_settings, log) as first:
                result = await post(
                    api, f"/api/v1/billing-periods/{period_id}/invites", admin, commitment_ids=ids
                )
                assert len(result["invited"]) == COMMITMENTS
                await wait_for(lambda: len(smtp.received) >= 10, timeout=60, what="first invites")
                os.killpg(first.pid, signal.SIGKILL)  # no clean shutdown: the process just dies
                first.wait()
            killed_at = len(smtp.received)
            assert killed_at < COMMITMENTS, "the kill came too late to prove anything"

            with worker_process(env, process_settings, log):
                await wait_for(
                    lambda: len(invites_by_recipient(smtp)) == COMMITMENTS,
                    timeout=180,
                    what="every invite",
                )
                await asyncio.sleep(2)  # anything duplicated would arrive now

        received = invites_by_recipient(smtp)
        assert sorted(received) == sorted(f"billing@vendor-{n}.example" for n in range(COMMITMENTS))
        # Each contact has exactly one invite: one Message-ID, the way a mailbox counts mail.
        assert all(len(message_ids) == 1 for message_ids in received.values())
        # Sends the server took (250) before the killed worker recorded them are sent again, with
        # the same Message-IDs: at most SENT_PER_WRITE for each batch's email activity.
        batches = math.ceil(COMMITMENTS / START_BATCH)
        assert COMMITMENTS <= len(smtp.received) <= COMMITMENTS + batches * SENT_PER_WRITE


@pytest.mark.slow
class TestWorkerKilledMidSend:
    async def test_another_worker_takes_the_batch_over_within_seconds(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
        tmp_path: Path,
    ) -> None:
        env, count = dev_server_env, 30
        log = tmp_path / "worker.log"
        async with api_client(env, process_settings, engine) as api:
            project_id, ids = await project_with_commitments(api, admin, count)
            period_id = await open_period(env, api, admin, project_id, due_in_days=14)
            smtp.stall(0.5, times=10 * count)  # a slow mail server: half a second a message
            with worker_process(env, process_settings, log) as first:
                await post(
                    api, f"/api/v1/billing-periods/{period_id}/invites", admin, commitment_ids=ids
                )
                await wait_for(lambda: len(smtp.received) >= 3, timeout=60, what="first invites")
                os.killpg(first.pid, signal.SIGKILL)
                first.wait()
            loop = asyncio.get_running_loop()
            killed_at, received_at_kill = loop.time(), len(smtp.received)
            assert received_at_kill < count, "the kill came too late to prove anything"

            with worker_process(env, process_settings, log):
                await wait_for(
                    lambda: len(smtp.received) > received_at_kill + 1, timeout=60, what="resumed"
                )
                resumed_after = loop.time() - killed_at
                await wait_for(
                    lambda: len(invites_by_recipient(smtp)) == count, timeout=120, what="all"
                )
                await asyncio.sleep(1)

        # The dead worker's batch was taken over once its heartbeat was missed, in about ten
        # seconds, not when the batch's time ran out.
        assert resumed_after < 20, resumed_after
        received = invites_by_recipient(smtp)
        assert len(received) == count
        assert all(len(message_ids) == 1 for message_ids in received.values())


def invites_by_recipient(smtp: SmtpTestServer) -> dict[str, set[str]]:
    received: dict[str, set[str]] = {}
    for message in smtp.received:
        received.setdefault(str(message["To"]), set()).add(str(message["Message-ID"]))
    return received


@pytest.mark.slow
class TestWorkerKilledWhileRelaying:
    async def test_the_email_of_an_answered_step_still_arrives_exactly_once(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
        tmp_path: Path,
    ) -> None:
        """The answer comes once the step is committed and the relay is sending its email; the
        worker dies right then. The email is not lost: its workflow sends it once the relay's
        grace is over, and sends it once."""
        env, log = dev_server_env, tmp_path / "worker.log"
        async with api_client(env, process_settings, engine) as api:
            project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
            period_id = await open_period(env, api, admin, project_id, due_in_days=14)
            smtp.stall(120)  # the relay's message hangs at MAIL FROM
            with worker_process(env, process_settings, log) as first:
                invited = await post(
                    api,
                    f"/api/v1/billing-periods/{period_id}/invites",
                    admin,
                    commitment_ids=[commitment_id],
                )
                assert invited["invited"] == [commitment_id]
                await wait_for(lambda: bool(smtp.connections), timeout=30, what="the relay")
                os.killpg(first.pid, signal.SIGKILL)
                first.wait()
            smtp.stall(0, times=0)
            assert smtp.received == []

            with worker_process(env, process_settings, log):
                await wait_for(
                    lambda: bool(smtp.received), timeout=RELAY_GRACE_SECONDS + 60, what="invite"
                )
                await asyncio.sleep(2)

        assert [str(message["To"]) for message in smtp.received] == ["billing@vendor-0.example"]
