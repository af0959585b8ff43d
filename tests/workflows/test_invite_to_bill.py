"""The invite-to-bill process on the time-skipping test server: a 30-day period in seconds."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from api.steps import billing_start_operation
from paydraw.db.tables import AuditEvent, BillingPeriod, EmailOutbox, Project
from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    Paydraw,
    accept_invite,
    contact_token,
    invited_period,
    messages_to,
    open_period,
    post,
    project_with_commitments,
    today,
    wait_for,
)
from workflows.commitment_billing import CommitmentBillingWorkflow, billing_workflow_id
from workflows.messages import InviteCommitments

CONTACT = "billing@vendor-0.example"


async def billings_ended(env: WorkflowEnvironment, ids: list[str], period_id: str) -> bool:
    for commitment_id in ids:
        handle = env.client.get_workflow_handle(billing_workflow_id(commitment_id, period_id))
        if (await handle.describe()).status != WorkflowExecutionStatus.COMPLETED:
            return False
    return True


def sent(engine: Engine, kind: str) -> list[EmailOutbox]:
    with Session(engine) as session:
        query = select(EmailOutbox).where(EmailOutbox.kind == kind, EmailOutbox.status == "sent")
        return list(session.exec(query.order_by(col(EmailOutbox.sent_at))))


class TestRemindersAndDueDate:
    async def test_reminders_at_the_offsets_then_overdue_then_the_lock_until_extended(
        self,
        time_skipping_paydraw: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = time_skipping_paydraw.env, time_skipping_paydraw.api
        project_id, (commitment_id,) = await project_with_commitments(api, admin, 1)
        period_id = await open_period(env, api, admin, project_id, due_in_days=10)
        invited = await post(
            api,
            f"/api/v1/billing-periods/{period_id}/invites",
            admin,
            commitment_ids=[commitment_id],
            message="Please bill by the 10th.",
        )
        assert invited == {"invited": [commitment_id], "refused": []}
        await wait_for(lambda: len(messages_to(smtp, CONTACT)) == 1, what="the invite")
        token = contact_token(messages_to(smtp, CONTACT)[0])

        await env.sleep(timedelta(days=2))  # 8+ days before the due date: no reminder yet
        assert sent(engine, "reminder") == []

        await env.sleep(timedelta(days=3))  # past 7 days before
        await wait_for(lambda: len(sent(engine, "reminder")) == 1, what="the 7-day reminder")
        await env.sleep(timedelta(days=5))  # past 1 day before
        await wait_for(lambda: len(sent(engine, "reminder")) == 2, what="the 1-day reminder")
        assert "7 days" in sent(engine, "reminder")[0].text_body
        assert "due tomorrow" in sent(engine, "reminder")[1].text_body

        await env.sleep(timedelta(days=2))  # past the due date
        await wait_for(lambda: len(sent(engine, "overdue_notice")) == 1, what="overdue")
        board = (await api.get(f"/api/v1/billing-periods/{period_id}", headers=admin)).json()
        assert board["rows"][0]["overdue"] is True
        assert board["counts"]["overdue"] == 1
        assert len(messages_to(smtp, CONTACT)) == 4  # invite, two reminders, overdue notice

        contact = {"Authorization": f"Bearer {token}"}
        locked = await api.post("/api/v1/contact/invitation/accept", headers=contact)
        assert locked.status_code == 409
        assert locked.json()["status"] == "past_due"
        assert locked.json()["allowed_actions"] == ["decline"]

        new_due = (await today(env) + timedelta(days=10)).isoformat()
        extended = await post(
            api,
            f"/api/v1/billing-periods/{period_id}/commitments/{commitment_id}/extend-due-date",
            admin,
            due_date=new_due,
        )
        assert extended["overdue"] is False and extended["locked"] is False
        accepted = await api.post("/api/v1/contact/invitation/accept", headers=contact)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "accepted"
        board = (await api.get(f"/api/v1/billing-periods/{period_id}", headers=admin)).json()
        assert board["rows"][0]["overdue"] is False
        assert board["rows"][0]["due_date"] == new_due
        assert board["counts"]["accepted"] == 1

    async def test_no_reminder_after_an_answer(
        self,
        time_skipping_paydraw: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = time_skipping_paydraw.env, time_skipping_paydraw.api
        await invited_period(env, api, admin, smtp, due_in_days=10)
        await accept_invite(api, smtp, CONTACT)

        await env.sleep(timedelta(days=9, hours=12))
        assert sent(engine, "reminder") == []
        assert len(messages_to(smtp, CONTACT)) == 1


class TestClosePeriod:
    async def test_every_child_ends_cleanly_and_nothing_is_lost(
        self,
        time_skipping_paydraw: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = time_skipping_paydraw.env, time_skipping_paydraw.api
        period = await invited_period(env, api, admin, smtp, 3, due_in_days=20)
        period_id, ids = period.period_id, period.commitment_ids
        tokens = {
            n: contact_token(messages_to(smtp, f"billing@vendor-{n}.example")[0]) for n in range(3)
        }
        await post(
            api,
            "/api/v1/contact/invitation/accept",
            {"Authorization": f"Bearer {tokens[0]}"},
        )
        await post(
            api,
            "/api/v1/contact/invitation/decline",
            {"Authorization": f"Bearer {tokens[1]}"},
            reason="No work this month",
        )

        closed = await post(api, f"/api/v1/billing-periods/{period_id}/close", admin)
        assert closed["status"] == "closed"

        await wait_for(
            lambda: billings_ended(env, ids, period_id), what="every commitment workflow completed"
        )
        board = (await api.get(f"/api/v1/billing-periods/{period_id}", headers=admin)).json()
        assert [row["invitation_status"] for row in board["rows"]] == [
            "accepted",
            "declined",
            "invited",
        ]
        assert board["rows"][1]["decline_reason"] == "No work this month"
        assert board["period"]["status"] == "closed"

        again = await api.post(
            f"/api/v1/billing-periods/{period_id}/invites",
            json={"commitment_ids": ids},
            headers=admin,
        )
        assert again.status_code == 409
        assert again.json()["status"] == "closed"
        late = await api.post(
            "/api/v1/contact/invitation/accept",
            headers={"Authorization": f"Bearer {tokens[2]}"},
        )
        assert late.status_code == 409

        with Session(engine) as session:
            actions = [
                event.action
                for event in session.exec(
                    select(AuditEvent).where(
                        col(AuditEvent.entity_type).in_(["invitation", "billing_period"])
                    )
                )
            ]
        assert sorted(actions) == sorted(
            ["open", "invite", "invite", "invite", "accept", "decline", "close"]
        )

    async def test_commitments_invited_one_at_a_time_end_with_the_period(
        self,
        time_skipping_paydraw: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = time_skipping_paydraw.env, time_skipping_paydraw.api
        project_id, ids = await project_with_commitments(api, admin, 2)
        period_id = await open_period(env, api, admin, project_id, due_in_days=20)
        invites = f"/api/v1/billing-periods/{period_id}/invites"
        for commitment_id in ids:
            answer = await post(api, invites, admin, commitment_ids=[commitment_id])
            assert answer == {"invited": [commitment_id], "refused": []}
        again = await post(api, invites, admin, commitment_ids=[ids[0]])
        assert again["invited"] == []
        assert [refusal["reason"] for refusal in again["refused"]] == ["already invited (invited)"]
        await wait_for(lambda: len(smtp.received) == 2, what="two invites")
        token = contact_token(messages_to(smtp, "billing@vendor-0.example")[0])

        await post(api, f"/api/v1/billing-periods/{period_id}/close", admin)

        await wait_for(
            lambda: billings_ended(env, ids, period_id), what="both commitment workflows completed"
        )
        late = await api.post(
            "/api/v1/contact/invitation/accept", headers={"Authorization": f"Bearer {token}"}
        )
        assert late.status_code == 409
        assert len(smtp.received) == 2

    async def test_an_invite_that_loses_the_race_with_the_close_is_refused_and_ends(
        self,
        time_skipping_paydraw: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        """The API found the period open, then the close was recorded before the invite was:
        the invite is refused, nothing is sent, and the commitment's workflow does not linger."""
        env, api = time_skipping_paydraw.env, time_skipping_paydraw.api
        project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
        period_id = await open_period(env, api, admin, project_id, due_in_days=20)
        await post(api, f"/api/v1/billing-periods/{period_id}/close", admin)
        with Session(engine) as session:
            period = session.get(BillingPeriod, period_id)
            project = session.get(Project, project_id)
            assert period is not None and project is not None
            request = InviteCommitments(commitment_ids=[commitment_id], actor="user:admin")
            start = billing_start_operation(process_settings, period, project, request)

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await env.client.execute_update_with_start_workflow(
                CommitmentBillingWorkflow.invite_one, request, start_workflow_operation=start
            )

        assert isinstance(refused.value.cause, ApplicationError)
        assert "closed" in str(refused.value.cause)
        view = await (await start.workflow_handle()).result()
        assert (view.status, view.closed) == ("not_invited", True)
        await asyncio.sleep(0.5)
        assert smtp.received == []
        with Session(engine) as session:
            assert session.exec(select(EmailOutbox)).all() == []


class TestOpenAndInvite:
    async def test_refusals_come_back_with_their_reasons(
        self,
        time_skipping_paydraw: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = time_skipping_paydraw.env, time_skipping_paydraw.api
        project_id, (ready,) = await project_with_commitments(api, admin, 1)
        no_contact = await post(
            api,
            f"/api/v1/projects/{project_id}/commitments",
            admin,
            number="SC-NC",
            vendor_name="No Contact Co",
            sov_lines=[{"code": "01", "scheduled_value": "10.00"}],
        )
        draft = await post(
            api,
            f"/api/v1/projects/{project_id}/commitments",
            admin,
            number="SC-DR",
            vendor_name="Draft Co",
            contacts=[{"email": "ap@draft.example"}],
            sov_lines=[{"code": "01", "scheduled_value": "10.00"}],
        )
        period_id = await open_period(env, api, admin, project_id, due_in_days=10)
        second = await api.post(
            f"/api/v1/projects/{project_id}/billing-periods",
            json={
                "start_date": "2030-01-01",
                "end_date": "2030-01-31",
                "due_date": "2030-01-25",
            },
            headers=admin,
        )
        assert second.status_code == 409
        assert period_id in second.json()["message"]

        result = await post(
            api,
            f"/api/v1/billing-periods/{period_id}/invites",
            admin,
            commitment_ids=[ready, no_contact["id"], draft["id"], "cmt_unknown"],
        )
        assert result["invited"] == [ready]
        assert {r["commitment_id"]: r["reason"] for r in result["refused"]} == {
            no_contact["id"]: "no invoice contact",
            draft["id"]: "schedule of values not approved",
            "cmt_unknown": "no such commitment on this project",
        }
        await wait_for(lambda: len(smtp.received) == 1, what="the invite")
        again = await post(
            api, f"/api/v1/billing-periods/{period_id}/invites", admin, commitment_ids=[ready]
        )
        assert again["refused"][0]["reason"].startswith("already invited")

    @pytest.mark.parametrize("reason", ["", "   "])
    async def test_a_decline_needs_a_reason(
        self,
        reason: str,
        time_skipping_paydraw: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = time_skipping_paydraw.env, time_skipping_paydraw.api
        await invited_period(env, api, admin, smtp, due_in_days=10)
        token = contact_token(smtp.received[0])
        response = await api.post(
            "/api/v1/contact/invitation/decline",
            json={"reason": reason},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "reason"
