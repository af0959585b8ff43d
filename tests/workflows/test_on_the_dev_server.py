"""Invite to bill on the real Temporal dev server with a real SMTP server: what users notice."""

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from paydraw.db.tables import BillingPeriod, EmailOutbox
from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.support.temporal import billing_worker
from tests.workflows.helpers import (
    Paydraw,
    api_client,
    contact_token,
    messages_to,
    open_period,
    post,
    project_with_commitments,
    today,
    wait_for,
)


async def invite_all(
    api: httpx.AsyncClient, admin: dict[str, str], period_id: str, ids: list[str]
) -> None:
    result = await post(
        api, f"/api/v1/billing-periods/{period_id}/invites", admin, commitment_ids=ids
    )
    assert sorted(result["invited"]) == sorted(ids)


class TestInvites:
    async def test_each_contact_gets_one_invite_whose_link_accepts(
        self,
        on_dev_server: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        project_id, ids = await project_with_commitments(
            api, admin, 3, general_contractor="Bayline Builders"
        )
        period_id = await open_period(env, api, admin, project_id, due_in_days=14)
        await invite_all(api, admin, period_id, ids)
        await wait_for(lambda: len(smtp.received) == 3, what="three invites")
        await asyncio.sleep(0.5)
        assert len(smtp.received) == 3
        for n in range(3):
            (invite,) = messages_to(smtp, f"billing@vendor-{n}.example")
            assert "Harbor View Tower" in str(invite["Subject"])
            assert invite.get_body(preferencelist=("html",)) is not None

        token = contact_token(messages_to(smtp, "billing@vendor-1.example")[0])
        contact = {"Authorization": f"Bearer {token}"}
        seen = (await api.get("/api/v1/contact/invitation", headers=contact)).json()
        assert seen["commitment_id"] == ids[1]
        assert seen["vendor_name"] == "Vendor 1"
        assert seen["contract_sum_to_date"] == "65000.00"
        assert seen["invitation_status"] == "invited"

        accepted = await post(api, "/api/v1/contact/invitation/accept", contact)
        assert accepted["status"] == "accepted"
        board = (await api.get(f"/api/v1/billing-periods/{period_id}", headers=admin)).json()
        assert board["counts"]["accepted"] == 1 and board["counts"]["invited"] == 2
        assert [row["invitation_status"] for row in board["rows"]][1] == "accepted"

    async def test_a_decline_emails_every_admin_with_the_reason(
        self,
        on_dev_server: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        project_id, ids = await project_with_commitments(api, admin, 1)
        await post(
            api,
            f"/api/v1/projects/{project_id}/members",
            admin,
            email="controller@gc.example",
            role="admin",
        )
        period_id = await open_period(env, api, admin, project_id, due_in_days=14)
        await invite_all(api, admin, period_id, ids)
        await wait_for(lambda: len(smtp.received) == 1, what="the invite")
        contact = {"Authorization": f"Bearer {contact_token(smtp.received[0])}"}

        await post(api, "/api/v1/contact/invitation/decline", contact, reason="Crew on another job")
        for address in ("ap@gc.example", "controller@gc.example"):
            await wait_for(
                lambda a=address: len(messages_to(smtp, a)) == 1, what=f"notice to {address}"
            )
            (notice,) = messages_to(smtp, address)
            text = notice.get_body(preferencelist=("plain",))
            assert text is not None and "Crew on another job" in text.get_content()


class TestMailServerTrouble:
    async def test_a_server_refusing_for_a_while_then_recovering_delivers_each_invite_once(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env = dev_server_env
        smtp.fail_temporarily(6)
        async with (
            api_client(env, process_settings, engine) as api,
            billing_worker(env.client, process_settings, engine),
        ):
            project_id, ids = await project_with_commitments(api, admin, 4)
            period_id = await open_period(env, api, admin, project_id, due_in_days=14)
            await invite_all(api, admin, period_id, ids)
            await wait_for(lambda: len(smtp.received) == 4, timeout=60, what="all four invites")
            await asyncio.sleep(1)
            assert sorted(str(m["To"]) for m in smtp.received) == [
                f"billing@vendor-{n}.example" for n in range(4)
            ]
            with Session(engine) as session:
                rows = session.exec(select(EmailOutbox)).all()
            assert {row.status for row in rows} == {"sent"}
            assert sum(row.attempts for row in rows) == 4 + 6

    async def test_a_550_for_one_address_shows_on_its_row_and_the_others_arrive(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env = dev_server_env
        smtp.refuse("billing@vendor-1.example")
        async with (
            api_client(env, process_settings, engine) as api,
            billing_worker(env.client, process_settings, engine),
        ):
            project_id, ids = await project_with_commitments(api, admin, 3)
            period_id = await open_period(env, api, admin, project_id, due_in_days=14)
            await invite_all(api, admin, period_id, ids)

            async def failure_on_board() -> bool:
                response = await api.get(f"/api/v1/billing-periods/{period_id}", headers=admin)
                return bool(response.json()["counts"]["email_failed"])

            await wait_for(failure_on_board, what="the failure on the board")
            await wait_for(lambda: len(smtp.received) == 2, what="the other two invites")
            board = (await api.get(f"/api/v1/billing-periods/{period_id}", headers=admin)).json()
            failures = [row["email_failure"] for row in board["rows"]]
            assert failures[0] == failures[2] == ""
            assert failures[1].startswith("billing@vendor-1.example: ")
            assert "550" in failures[1]
            with Session(engine) as session:
                failed = session.exec(
                    select(EmailOutbox).where(col(EmailOutbox.status) == "failed")
                ).all()
            assert [row.attempts for row in failed] == [1]


class TestRaces:
    async def test_ten_simultaneous_opens_make_one_period(
        self,
        dev_server_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env = dev_server_env
        async with api_client(env, process_settings, engine) as api:
            project_id, _ = await project_with_commitments(api, admin, 1)
            start = await today(env)
            body = {
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=30)).isoformat(),
                "due_date": (start + timedelta(days=25)).isoformat(),
            }
            responses = await asyncio.gather(
                *(
                    api.post(
                        f"/api/v1/projects/{project_id}/billing-periods", json=body, headers=admin
                    )
                    for _ in range(10)
                )
            )
            assert sorted(r.status_code for r in responses) == [201] + [409] * 9
            with Session(engine) as session:
                assert len(session.exec(select(BillingPeriod)).all()) == 1

    async def test_ten_simultaneous_invite_requests_invite_each_contact_once(
        self,
        on_dev_server: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        project_id, ids = await project_with_commitments(api, admin, 3)
        period_id = await open_period(env, api, admin, project_id, due_in_days=14)
        responses = await asyncio.gather(
            *(
                api.post(
                    f"/api/v1/billing-periods/{period_id}/invites",
                    json={"commitment_ids": ids},
                    headers=admin,
                )
                for _ in range(10)
            )
        )
        assert {r.status_code for r in responses} == {200}
        invited = [cid for r in responses for cid in r.json()["invited"]]
        assert sorted(invited) == sorted(ids)
        await wait_for(lambda: len(smtp.received) == 3, what="three invites")
        await asyncio.sleep(1)
        assert len(smtp.received) == 3
