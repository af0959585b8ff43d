"""The certificate's PDF is printed by the commitment's workflow once the finalize step has
committed, without anybody downloading it; a worker killed while it prints loses nothing, and the
next worker keeps exactly one PDF."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from paydraw.db.tables import CertificatePdf
from paydraw.settings import Settings
from paydraw.worker import MAX_CONCURRENT_ACTIVITIES, build_printer_worker, build_worker
from tests.conftest import new_user_headers
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    Paydraw,
    accept_invite,
    api_client,
    invited_period,
    post,
    wait_for,
)
from tests.workflows.test_durability import worker_process


def kept(engine: Engine) -> list[CertificatePdf]:
    with Session(engine) as session:
        return list(session.exec(select(CertificatePdf)))


async def finalized_pay_app(
    env: WorkflowEnvironment, api: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpTestServer
) -> str:
    """A commitment invited, billed by its contact, approved and finalized through the API."""
    invited = await invited_period(env, api, admin, smtp, due_in_days=14)
    contact = await accept_invite(api, smtp, invited.contacts[0])
    invitation = (await api.get("/api/v1/contact/invitation", headers=contact)).json()
    line_id = invitation["sov_lines"][1]["id"]
    body = {
        "entry": {
            "mode": "per_line_amounts",
            "lines": [{"sov_line_id": line_id, "work_this_period": "30000.00"}],
        }
    }
    filled = await api.put("/api/v1/contact/pay-app/lines", json=body, headers=contact)
    assert filled.status_code in (200, 201), filled.text
    pay_app_id: str = filled.json()["id"]
    await post(api, "/api/v1/contact/pay-app/submit", contact)
    await post(api, f"/api/v1/pay-apps/{pay_app_id}/review", admin, decision="approve")
    await post(api, f"/api/v1/pay-apps/{pay_app_id}/finalize", admin)
    return pay_app_id


class TestTheWorkflowPrintsIt:
    async def test_after_finalize_without_a_download(
        self, on_dev_server: Paydraw, engine: Engine, smtp: SmtpTestServer, admin: dict[str, str]
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        pay_app_id = await finalized_pay_app(env, api, admin, smtp)

        await wait_for(
            lambda: any(row.pdf for row in kept(engine)), timeout=60, what="the printed PDF"
        )

        [row] = kept(engine)
        assert row.pay_app_id == pay_app_id and row.pdf is not None
        downloaded = await api.get(f"/api/v1/pay-apps/{pay_app_id}/g702.pdf", headers=admin)
        assert downloaded.content == row.pdf


class TestThePrinterHasAQueueOfItsOwn:
    async def test_billing_goes_on_while_certificates_wait_for_the_printer(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        """With no printer polling, a finalize still answers and the pay app is paid; the
        certificate waits in its queue and is printed once a printer comes."""
        env, settings = (
            dev_server_env,
            process_settings.model_copy(update={"workflow_sandbox": True}),
        )
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
            async with (
                api_client(env, settings, engine) as api,
                build_worker(env.client, settings, engine, executor),
            ):
                pay_app_id = await finalized_pay_app(env, api, admin, smtp)
                pay_app = (await api.get(f"/api/v1/pay-apps/{pay_app_id}", headers=admin)).json()
                due = pay_app["summary"]["current_payment_due"]
                payment = {"amount": due, "method": "ach", "paid_on": "2026-12-05"}
                paid = await post(api, f"/api/v1/pay-apps/{pay_app_id}/payments", admin, **payment)
                assert paid["payment_status"] == "paid"
                assert [row.pdf for row in kept(engine)] == [None]

                async with build_printer_worker(env.client, settings, engine):
                    await wait_for(
                        lambda: all(row.pdf for row in kept(engine)),
                        timeout=60,
                        what="the PDF printed once a printer polls",
                    )
                downloaded = await api.get(f"/api/v1/pay-apps/{pay_app_id}/g702.pdf", headers=admin)
                assert downloaded.content == kept(engine)[0].pdf


@pytest.mark.slow
class TestWorkerKilledWhilePrinting:
    async def test_the_next_worker_keeps_one_pdf(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        tmp_path: Path,
    ) -> None:
        env, log = dev_server_env, tmp_path / "worker.log"
        admin = new_user_headers(engine, "ap@gc.example")
        async with api_client(env, process_settings, engine) as api:
            with worker_process(env, process_settings, log) as first:
                pay_app_id = await finalized_pay_app(env, api, admin, smtp)
                # The finalize has answered; the print is scheduled or under way. The worker
                # dies now, without a clean shutdown.
                os.killpg(first.pid, signal.SIGKILL)
                first.wait()
            assert [row.pay_app_id for row in kept(engine)] == [pay_app_id]

            with worker_process(env, process_settings, log):
                await wait_for(
                    lambda: any(row.pdf for row in kept(engine)),
                    timeout=120,
                    what="the PDF printed by the next worker",
                )

        [row] = kept(engine)
        assert row.pdf is not None and row.pdf.startswith(b"%PDF")
        assert len(row.sha256) == 64
