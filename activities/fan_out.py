"""A billing period's fan-out: the client starts and closes its commitments' billing workflows,
and a batch's invitations are recorded together.

The period could start them as child workflows, but Temporal records every child's start in the
parent's own history, one after the other, and a period of many thousand commitments would carry
three events per child. Started by the client, the workflows start side by side and the period's
history holds one activity per batch; the deterministic ids keep a retried activity from starting
any of them twice.

A batch's invitations (rows, audit events, invite emails) are written in one transaction after
the starts, rather than by each commitment's workflow in a transaction of its own: one writer
instead of a hundred queueing for the database, and the commitment's workflow starts with
nothing to do but set its reminders.
"""

import asyncio

import anyio
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.billing import send_now
from emails.delivery import QueuedEmail, just_queued
from paydraw.db.engine import read_scope, session_scope
from paydraw.invitations.repository import invitations
from paydraw.invitations.service import record_invites
from paydraw.settings import Settings
from workflows.ids import COMMITMENT_BILLING, billing_workflow_id
from workflows.messages import (
    CloseBillings,
    InviteCommitments,
    StartBillings,
    StartedBillings,
    billing_input,
)

# Requests to the Temporal server in flight at once from one activity.
CONCURRENT_REQUESTS = 64


class FanOutActivities:
    def __init__(self, client: Client, engine: Engine, settings: Settings) -> None:
        self.client = client
        self.engine = engine
        self.settings = settings

    @activity.defn
    async def start_commitment_billings(self, request: StartBillings) -> StartedBillings:
        """Start each commitment's billing; one already running (the admin bills for it) is
        invited instead when the request invites, and one that already ended is left out.
        Invited, the started ones are recorded and their invite emails queued (a few are sent
        at once; the ids returned are the ones still to send)."""
        limit = asyncio.Semaphore(CONCURRENT_REQUESTS)
        task_queue = activity.info().task_queue

        async def start(commitment_id: str) -> bool:
            async with limit:
                return await self.start_one(request, commitment_id, task_queue)

        started = await asyncio.gather(*(start(cid) for cid in request.commitment_ids))
        commitment_ids = [
            cid for cid, ok in zip(request.commitment_ids, started, strict=True) if ok
        ]
        outbox_ids = []
        if request.invite and commitment_ids:
            queued = await anyio.to_thread.run_sync(self.record_invites, request, commitment_ids)
            outbox_ids = await send_now(self.engine, self.settings, queued)
        return StartedBillings(commitment_ids=commitment_ids, outbox_ids=outbox_ids)

    def record_invites(
        self, request: StartBillings, commitment_ids: list[str]
    ) -> dict[str, QueuedEmail]:
        assert request.at is not None  # the period sends its clock with every invite
        with session_scope(self.engine) as session:
            ids = record_invites(
                session,
                self.settings,
                request.period.period_id,
                commitment_ids,
                actor=request.actor,
                message=request.message,
                at=request.at,
            )
            return just_queued(session, ids)

    async def start_one(self, request: StartBillings, commitment_id: str, task_queue: str) -> bool:
        period = request.period
        billing = billing_input(
            period,
            commitment_id,
            message=request.message,
            actor=request.actor,
            invite=request.invite,
        )
        invite = InviteCommitments(
            commitment_ids=[commitment_id], message=request.message, actor=request.actor
        )
        try:
            await self.client.start_workflow(
                COMMITMENT_BILLING,
                billing,
                id=billing_workflow_id(commitment_id, period.period_id),
                task_queue=task_queue,
                # A billing that ended (its period closed) is never started again.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                # Signal-with-start: a billing already running (the admin bills for it) is invited.
                start_signal="invite" if request.invite else None,
                start_signal_args=[invite] if request.invite else [],
            )
        except WorkflowAlreadyStartedError:
            # Without an invite, the billing already running is what was asked for.
            return not request.invite and await self.is_running(commitment_id, period.period_id)
        return True

    async def is_running(self, commitment_id: str, period_id: str) -> bool:
        handle: WorkflowHandle[object, object] = self.client.get_workflow_handle(
            billing_workflow_id(commitment_id, period_id)
        )
        description = await handle.describe()
        return description.close_time is None

    @activity.defn
    async def close_commitment_billings(self, request: CloseBillings) -> None:
        """Tell each commitment's billing that its period closed; one already ended is fine.

        Besides the ones the period started, every commitment invited in the period: the admin's
        invite of one commitment starts its billing without the period's workflow. The period is
        recorded closed before this runs, and such an invite is recorded only while it is open,
        so none is missed."""
        limit = asyncio.Semaphore(CONCURRENT_REQUESTS)
        invited = await anyio.to_thread.run_sync(self.invited_in, request.period_id)
        commitment_ids = sorted(set(request.commitment_ids) | set(invited))

        async def close(commitment_id: str) -> None:
            handle = self.client.get_workflow_handle(
                billing_workflow_id(commitment_id, request.period_id)
            )
            async with limit:
                try:
                    await handle.signal("close")
                except RPCError as error:
                    if error.status != RPCStatusCode.NOT_FOUND:
                        raise

        await asyncio.gather(*(close(cid) for cid in commitment_ids))

    def invited_in(self, period_id: str) -> list[str]:
        with read_scope(self.engine) as session:
            return list(invitations(session, period_id))
