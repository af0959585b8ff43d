"""The monthly billing cycle as a Temporal Schedule, one per project, kept in step with the
project's setting."""

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from paydraw.projects.schemas import BillingCycle
from paydraw.settings import Settings
from workflows.messages import MonthlyCycleInput
from workflows.monthly_cycle import MonthlyBillingCycleWorkflow, schedule_id

CYCLE_HOUR_UTC = 6


def billing_cycle_schedule(settings: Settings, project_id: str, cycle: BillingCycle) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MonthlyBillingCycleWorkflow.run,
            MonthlyCycleInput(project_id=project_id),
            id=f"billing-cycle-run:{project_id}",
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_month=[ScheduleRange(cycle.start_day)],
                    hour=[ScheduleRange(CYCLE_HOUR_UTC)],
                )
            ]
        ),
        # A worker down on the start day still opens the period when it is back, within a week.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=7)),
    )


async def sync_billing_cycle(
    client: Client, settings: Settings, project_id: str, cycle: BillingCycle
) -> None:
    """Create, update or delete the project's schedule so that it matches ``cycle``."""
    handle = client.get_schedule_handle(schedule_id(project_id))
    if not cycle.enabled:
        try:
            await handle.delete()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        return
    schedule = billing_cycle_schedule(settings, project_id, cycle)
    try:
        await client.create_schedule(schedule_id(project_id), schedule)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await handle.update(replace)
