"""What both the staff's API and their pages do to a billing period: open it (and start its
workflow), invite commitments, close it. The routers validate input and shape the answer; these
check the caller against the period and send the workflow update."""

from fastapi import Request
from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api.process import earlier_answer, get_temporal, workflow_update
from api.reads import in_transaction, reading
from api.steps import billing_start_operation, period_input, start_operation
from paydraw.access import ADMIN_ONLY
from paydraw.actors import Actor
from paydraw.db.tables import BillingPeriod, Project
from paydraw.domain.errors import InvalidTransition
from paydraw.invitations import service as invitations
from paydraw.invitations.schemas import (
    ExtendDueDateRequest,
    InviteRefusal,
    InviteRequest,
    InviteResponse,
)
from paydraw.logs import note
from paydraw.periods import service
from paydraw.periods.schemas import PeriodCreate, PeriodPublic
from paydraw.settings import Settings
from workflows.billing_period import BillingPeriodWorkflow
from workflows.commitment_billing import CommitmentBillingWorkflow, billing_handle
from workflows.ids import period_workflow_id
from workflows.messages import (
    ClosePeriod,
    ExtendDueDate,
    InvitationView,
    InviteCommitments,
    InviteResult,
    PeriodView,
)


async def open_period(
    http: Request, user: Actor, project_id: str, body: PeriodCreate
) -> PeriodPublic:
    """Open a billing period (at most one open per project) and start its workflow."""
    settings: Settings = http.app.state.settings
    temporal = await get_temporal(http)  # before the period is written: Temporal must answer
    period, project = await in_transaction(
        http.app.state.engine, lambda session: service.open_period(session, user, project_id, body)
    )
    await start_period_workflow(temporal, settings, period, project)
    return period


async def start_period_workflow(
    temporal: Client, settings: Settings, period: PeriodPublic, project: Project
) -> None:
    await temporal.start_workflow(
        BillingPeriodWorkflow.run,
        period_input(period, project),
        id=period_workflow_id(period.id),
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def admin_period(
    session: Session, user: Actor, period_id: str, action: str
) -> tuple[BillingPeriod, Project]:
    period, project = service.period_for(session, user, period_id, ADMIN_ONLY, action)
    service.require_open(period, action.split()[0])
    return period, project


async def invite(
    http: Request, user: Actor, period_id: str, body: InviteRequest, update_id: str
) -> InviteResponse:
    """Invite commitments to bill; each refused one comes back with its reason."""
    settings: Settings = http.app.state.settings

    def check(session: Session) -> tuple[BillingPeriod, Project, list[str], list[InviteRefusal]]:
        period, project = admin_period(session, user, period_id, "invite to bill")
        return (
            period,
            project,
            *invitations.eligible_for_invite(session, project, period, body.commitment_ids),
        )

    period, project, eligible, refused = await reading(http.app.state.engine, check)
    note(project_id=project.id)
    # One commitment asked for goes straight to its own billing workflow, started if need be;
    # more go through the period's. The choice rests on the request alone, so that a resend
    # finds the workflow its first went to.
    asked = list(dict.fromkeys(body.commitment_ids))
    alone = asked[0] if len(asked) == 1 else None
    if invitations.invited_before(refused):
        temporal = await get_temporal(http)
        handle = (
            billing_handle(temporal, alone, period_id)
            if alone
            else temporal.get_workflow_handle(period_workflow_id(period_id))
        )
        earlier = await earlier_answer(handle, update_id, InviteResult)
        if earlier is not None:
            return invite_response(refused, earlier)
    if not eligible:
        return InviteResponse(invited=[], refused=refused)
    request = InviteCommitments(commitment_ids=eligible, message=body.message, actor=user)
    missing = f"billing period {period_id} not found"
    temporal = await get_temporal(http)
    if alone:
        result = await workflow_update(
            lambda: temporal.execute_update_with_start_workflow(
                CommitmentBillingWorkflow.invite_one,
                request,
                start_workflow_operation=billing_start_operation(
                    settings, period, project, request
                ),
                id=update_id,
            ),
            missing,
        )
    else:
        result = await workflow_update(
            lambda: temporal.execute_update_with_start_workflow(
                BillingPeriodWorkflow.invite,
                request,
                start_workflow_operation=start_operation(settings, period, project),
                id=update_id,
            ),
            missing,
        )
    return invite_response(refused, result)


def invite_response(checked: list[InviteRefusal], result: InviteResult) -> InviteResponse:
    """The answer: the commitments refused by the database's checks, then the workflow's
    invites and refusals. Of a resend, the checks refuse what its first request invited (or
    began to): those are the workflow's to answer for."""
    answered = set(result.invited) | {refusal.commitment_id for refusal in result.refused}
    refused = [refusal for refusal in checked if refusal.commitment_id not in answered]
    refused += [InviteRefusal(**refusal.model_dump()) for refusal in result.refused]
    return InviteResponse(invited=result.invited, refused=refused)


async def close(http: Request, user: Actor, period_id: str, update_id: str) -> PeriodPublic:
    """Close the period: no new invites, every open commitment workflow ends cleanly."""
    settings: Settings = http.app.state.settings
    engine = http.app.state.engine
    temporal = await get_temporal(http)
    try:
        period, project = await reading(
            engine, lambda session: admin_period(session, user, period_id, "close")
        )
    except InvalidTransition:
        handle = temporal.get_workflow_handle(period_workflow_id(period_id))
        if await earlier_answer(handle, update_id, PeriodView) is None:
            raise
        return await reading(engine, lambda session: closed_period(session, period_id))
    await workflow_update(
        lambda: temporal.execute_update_with_start_workflow(
            BillingPeriodWorkflow.close,
            ClosePeriod(actor=user),
            start_workflow_operation=start_operation(settings, period, project),
            id=update_id,
        ),
        f"billing period {period_id} not found",
    )
    return await reading(engine, lambda session: closed_period(session, period_id))


def closed_period(session: Session, period_id: str) -> PeriodPublic:
    closed = session.get(BillingPeriod, period_id)
    assert closed is not None
    return service.to_public(closed)


async def extend_due_date(
    http: Request,
    user: Actor,
    period_id: str,
    commitment_id: str,
    body: ExtendDueDateRequest,
    update_id: str,
) -> InvitationView:
    """Give one commitment a later due date; its contact can accept and submit again."""
    handle = billing_handle(await get_temporal(http), commitment_id, period_id)
    try:
        await reading(
            http.app.state.engine,
            lambda session: admin_period(session, user, period_id, "extend due dates"),
        )
    except InvalidTransition:
        earlier = await earlier_answer(handle, update_id, InvitationView)
        if earlier is None:
            raise
        return earlier
    return await workflow_update(
        lambda: handle.execute_update(
            CommitmentBillingWorkflow.extend_due_date,
            ExtendDueDate(due_date=body.due_date, actor=user),
            id=update_id,
        ),
        f"no invitation for commitment {commitment_id} in billing period {period_id}",
    )
