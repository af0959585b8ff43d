"""A billing period: starts one CommitmentBillingWorkflow per invited commitment, and records and
sends the invites in batches.

Workflow id ``billing-period:{period_id}``. Invites and closing are Updates, so the HTTP caller
gets the answer synchronously and a repeated Idempotency-Key (the update id) changes nothing.
"""

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from activities.fan_out import FanOutActivities
    from paydraw.actors import SYSTEM, Actor
    from paydraw.domain.errors import InvalidTransition
    from paydraw.domain.transitions import PeriodStatus
    from workflows.commitment_billing import ACTIVITY_TIMEOUT, DATABASE_RETRY, deliver_emails
    from workflows.messages import (
        CloseBillings,
        ClosePeriod,
        InviteCommitments,
        InviteResult,
        OpenBilling,
        PeriodClosing,
        PeriodInput,
        PeriodView,
        Refusal,
        StartBillings,
        StartedBillings,
    )
    from workflows.rejections import rejection


# Commitments per fan-out activity: a retried batch redoes little, and batches run side by side.
START_BATCH = 100


@workflow.defn
class BillingPeriodWorkflow:
    @workflow.init
    def __init__(self, input: PeriodInput) -> None:
        self.input = input
        self.invited: set[str] = set()
        self.started: set[str] = set()  # commitments whose billing workflow runs, invited or not
        self.closing = False
        self.close_recorded = False
        self.closed_by = SYSTEM
        self.deliveries: list[asyncio.Task[None]] = []  # invite emails still on their way

    @workflow.run
    async def run(self, input: PeriodInput) -> PeriodView:
        if input.initial_invites is not None:
            await self.invite_commitments(input.initial_invites)
        await workflow.wait_condition(lambda: self.closing)
        await self.record_close(self.closed_by)
        # Let a running invite update finish starting its billings before they are told to end.
        await workflow.wait_condition(workflow.all_handlers_finished)
        await workflow.execute_activity_method(
            FanOutActivities.close_commitment_billings,
            CloseBillings(period_id=self.input.period_id, commitment_ids=sorted(self.started)),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
        await asyncio.gather(*self.deliveries)
        return self.view()

    @workflow.update
    async def invite(self, request: InviteCommitments) -> InviteResult:
        """Start the billing of every commitment not yet invited in this period."""
        return await self.invite_commitments(request)

    async def invite_commitments(self, request: InviteCommitments) -> InviteResult:
        refused = []
        new = []
        for commitment_id in dict.fromkeys(request.commitment_ids):
            if commitment_id in self.invited:
                refused.append(Refusal(commitment_id=commitment_id, reason="already invited"))
            else:
                # Marked before the first await, so a racing invite sees it and refuses.
                self.invited.add(commitment_id)
                new.append(commitment_id)
        started = await self.start_billings(new, request) if new else set()
        return InviteResult(invited=[cid for cid in new if cid in started], refused=refused)

    @workflow.update
    async def open_billing(self, request: OpenBilling) -> None:
        """Start a commitment's billing without an invite, so the admin can bill for it."""
        if request.commitment_id not in self.started:
            await self.start_billings(
                [request.commitment_id],
                InviteCommitments(commitment_ids=[], actor=request.actor),
                invite=False,
            )

    @open_billing.validator
    def validate_open_billing(self, request: OpenBilling) -> None:
        if self.closing:
            raise rejection(
                InvalidTransition(PeriodStatus.CLOSED, "bill in", [], "a billing period")
            )

    @invite.validator
    def validate_invite(self, request: InviteCommitments) -> None:
        if self.closing:
            raise rejection(
                InvalidTransition(PeriodStatus.CLOSED, "invite", [], "a billing period")
            )

    async def start_billings(
        self, commitment_ids: list[str], request: InviteCommitments, invite: bool = True
    ) -> set[str]:
        """Start the commitments' billing workflows (or invite the ones already running), in
        batches that run side by side; returns the commitments whose billing now runs. Each
        invited batch's emails are then sent while the caller already has the answer."""
        batches = [
            commitment_ids[start : start + START_BATCH]
            for start in range(0, len(commitment_ids), START_BATCH)
        ]
        at = workflow.now()
        results: list[StartedBillings] = await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    FanOutActivities.start_commitment_billings,
                    StartBillings(
                        period=self.input.model_copy(update={"initial_invites": None}),
                        commitment_ids=batch,
                        message=request.message,
                        actor=request.actor,
                        invite=invite,
                        at=at,
                    ),
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=DATABASE_RETRY,
                )
                for batch in batches
            )
        )
        for result in results:
            if result.outbox_ids:
                self.deliveries.append(asyncio.create_task(deliver_emails(result.outbox_ids)))
        started = {cid for result in results for cid in result.commitment_ids}
        self.started |= started
        return started

    @workflow.update
    async def close(self, request: ClosePeriod) -> PeriodView:
        """No new invites; every open commitment workflow is told to end."""
        self.closing = True
        await self.record_close(request.actor)
        return self.view()

    @workflow.signal
    def request_close(self, request: ClosePeriod) -> None:
        """Close from another workflow (the monthly cycle), which cannot wait for an update."""
        self.closing = True
        self.closed_by = request.actor

    async def record_close(self, actor: Actor) -> None:
        if self.close_recorded:
            return
        self.close_recorded = True
        await workflow.execute_activity_method(
            BillingActivities.close_period,
            PeriodClosing(period_id=self.input.period_id, actor=actor, at=workflow.now()),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )

    @close.validator
    def validate_close(self, request: ClosePeriod) -> None:
        if self.closing:
            raise rejection(InvalidTransition(PeriodStatus.CLOSED, "close", [], "a billing period"))

    @workflow.query
    def view(self) -> PeriodView:
        return PeriodView(
            period_id=self.input.period_id,
            status=PeriodStatus.CLOSED if self.closing else PeriodStatus.OPEN,
            invited=len(self.invited),
        )
