"""The automatic monthly billing cycle: a Temporal Schedule per project starts this workflow on the
project's start day; it closes last month's period, opens this month's and invites every eligible
commitment."""

from contextlib import suppress

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from paydraw.actors import BILLING_CYCLE
    from workflows.billing_period import BillingPeriodWorkflow
    from workflows.commitment_billing import ACTIVITY_TIMEOUT, DATABASE_RETRY
    from workflows.ids import period_workflow_id
    from workflows.messages import (
        ClosePeriod,
        InviteCommitments,
        MonthlyCycleInput,
        OpenedPeriod,
        PeriodInput,
    )


def schedule_id(project_id: str) -> str:
    return f"billing-cycle:{project_id}"


@workflow.defn
class MonthlyBillingCycleWorkflow:
    @workflow.run
    async def run(self, input: MonthlyCycleInput) -> str:
        plan = await workflow.execute_activity_method(
            BillingActivities.plan_monthly_period,
            input,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
        if plan.still_open_period_id:
            previous: workflow.ExternalWorkflowHandle[BillingPeriodWorkflow] = (
                workflow.get_external_workflow_handle(period_workflow_id(plan.still_open_period_id))
            )
            await previous.signal(
                BillingPeriodWorkflow.request_close, ClosePeriod(actor=BILLING_CYCLE)
            )
        # Retried until last month's period has recorded its close (one open period a project).
        opened: OpenedPeriod = await workflow.execute_activity_method(
            BillingActivities.open_monthly_period,
            plan,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
        # On a retry of this run the period's workflow is already going: nothing more to do.
        with suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                BillingPeriodWorkflow.run,
                PeriodInput(
                    period_id=opened.period_id,
                    project_id=input.project_id,
                    due_date=opened.due_date,
                    reminder_offsets_days=opened.reminder_offsets_days,
                    initial_invites=InviteCommitments(
                        commitment_ids=opened.eligible_commitment_ids, actor=BILLING_CYCLE
                    ),
                ),
                id=period_workflow_id(opened.period_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        return opened.period_id
