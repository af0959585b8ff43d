"""A billing period: fans out one CommitmentBillingWorkflow per invited commitment.

Workflow id ``billing-period:{period_id}``. Invites and closing are Updates, so the HTTP caller
gets the answer synchronously and a repeated Idempotency-Key (the update id) changes nothing.
"""

import asyncio

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from paydraw.domain.errors import InvalidTransition
    from workflows.commitment_billing import (
        ACTIVITY_TIMEOUT,
        DATABASE_RETRY,
        CommitmentBillingWorkflow,
        billing_workflow_id,
    )
    from workflows.messages import (
        ClosePeriod,
        CommitmentBillingInput,
        InvitationView,
        InviteCommitments,
        InviteResult,
        OpenBilling,
        PeriodClosing,
        PeriodInput,
        PeriodView,
        Refusal,
    )
    from workflows.rejections import rejection


def period_workflow_id(period_id: str) -> str:
    return f"billing-period:{period_id}"


@workflow.defn
class BillingPeriodWorkflow:
    @workflow.init
    def __init__(self, input: PeriodInput) -> None:
        self.input = input
        self.invited: set[str] = set()
        self.started: set[str] = set()  # commitments whose billing workflow runs, invited or not
        self.children: list[ChildWorkflowHandle[CommitmentBillingWorkflow, InvitationView]] = []
        self.closing = False
        self.close_recorded = False
        self.closed_by = "system:paydraw"

    @workflow.run
    async def run(self, input: PeriodInput) -> PeriodView:
        if input.initial_invites is not None:
            await self.invite_commitments(input.initial_invites)
        await workflow.wait_condition(lambda: self.closing)
        await self.record_close(self.closed_by)
        # Let a running invite update finish starting its children before they are told to end.
        await workflow.wait_condition(workflow.all_handlers_finished)
        for child in self.children:
            await child.signal(CommitmentBillingWorkflow.close)
        await asyncio.gather(*self.children)
        return self.view()

    @workflow.update
    async def invite(self, request: InviteCommitments) -> InviteResult:
        """Start one child per commitment not yet invited in this period."""
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
        started = await asyncio.gather(*(self.start_child(cid, request) for cid in new))
        return InviteResult(
            invited=[cid for cid, ok in zip(new, started, strict=True) if ok], refused=refused
        )

    @workflow.update
    async def open_billing(self, request: OpenBilling) -> None:
        """Start a commitment's billing without an invite, so the admin can bill for it."""
        if request.commitment_id not in self.started:
            await self.start_child(
                request.commitment_id,
                InviteCommitments(commitment_ids=[], actor=request.actor),
                invite=False,
            )

    @open_billing.validator
    def validate_open_billing(self, request: OpenBilling) -> None:
        if self.closing:
            raise rejection(InvalidTransition("closed", "bill in", [], "a billing period"))

    @invite.validator
    def validate_invite(self, request: InviteCommitments) -> None:
        if self.closing:
            raise rejection(InvalidTransition("closed", "invite", [], "a billing period"))

    async def start_child(
        self, commitment_id: str, request: InviteCommitments, invite: bool = True
    ) -> bool:
        if commitment_id in self.started:
            # Its billing already runs without an invite (the admin billed for it): invite it now.
            await workflow.get_external_workflow_handle_for(
                CommitmentBillingWorkflow.run,
                billing_workflow_id(commitment_id, self.input.period_id),
            ).signal(CommitmentBillingWorkflow.invite, request)
            return True
        self.started.add(commitment_id)
        try:
            child = await workflow.start_child_workflow(
                CommitmentBillingWorkflow.run,
                CommitmentBillingInput(
                    period_id=self.input.period_id,
                    project_id=self.input.project_id,
                    commitment_id=commitment_id,
                    due_date=self.input.due_date,
                    reminder_offsets_days=self.input.reminder_offsets_days,
                    message=request.message,
                    invited_by=request.actor,
                    invite=invite,
                ),
                id=billing_workflow_id(commitment_id, self.input.period_id),
                # The commitment's billing must outlive an operator terminating the period.
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return False
        self.children.append(child)
        return True

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

    async def record_close(self, actor: str) -> None:
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
            raise rejection(InvalidTransition("closed", "close", [], "a billing period"))

    @workflow.query
    def view(self) -> PeriodView:
        return PeriodView(
            period_id=self.input.period_id,
            status="closed" if self.closing else "open",
            invited=len(self.invited),
        )
