"""Staff endpoints for billing periods: open, invite (bulk), the board, extend, close."""

from fastapi import APIRouter, Request, status
from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api.deps import CurrentUser, EngineDep, SessionDep, SettingsDep
from api.process import UpdateId, get_temporal, workflow_update
from api.reads import in_transaction, reading
from api.steps import billing_start_operation, period_input, start_operation
from paydraw.access import ADMIN_ONLY
from paydraw.actors import Actor
from paydraw.db.tables import BillingPeriod, Project
from paydraw.invitations import service as invitations
from paydraw.invitations.schemas import (
    ExtendDueDateRequest,
    InviteRefusal,
    InviteRequest,
    InviteResponse,
)
from paydraw.logs import note
from paydraw.periods import service
from paydraw.periods.schemas import Board, PeriodCreate, PeriodPublic
from paydraw.settings import Settings
from workflows.billing_period import BillingPeriodWorkflow
from workflows.commitment_billing import (
    CommitmentBillingWorkflow,
    billing_handle,
)
from workflows.ids import period_workflow_id
from workflows.messages import (
    ClosePeriod,
    ExtendDueDate,
    InvitationView,
    InviteCommitments,
)

router = APIRouter(prefix="/api/v1", tags=["billing periods"])


@router.post("/projects/{project_id}/billing-periods", status_code=status.HTTP_201_CREATED)
async def open_period(
    project_id: str,
    body: PeriodCreate,
    engine: EngineDep,
    settings: SettingsDep,
    user: CurrentUser,
    http: Request,
) -> PeriodPublic:
    """Open a billing period (at most one open per project) and start its workflow."""
    temporal = await get_temporal(http)  # before the period is written: Temporal must answer
    period, project = await in_transaction(
        engine, lambda session: service.open_period(session, user, project_id, body)
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


@router.get("/billing-periods/{period_id}")
def get_board(period_id: str, session: SessionDep, user: CurrentUser) -> Board:
    """The board: counts, and one row per commitment with its invitation and pay-app status."""
    return service.board(session, user, period_id)


def admin_period(
    session: Session, user: Actor, period_id: str, action: str
) -> tuple[BillingPeriod, Project]:
    period, project = service.period_for(session, user, period_id, ADMIN_ONLY, action)
    service.require_open(period, action.split()[0])
    return period, project


@router.post("/billing-periods/{period_id}/invites")
async def invite(
    period_id: str,
    body: InviteRequest,
    engine: EngineDep,
    settings: SettingsDep,
    user: CurrentUser,
    http: Request,
    update_id: UpdateId,
) -> InviteResponse:
    """Invite commitments to bill; each refused one comes back with its reason."""

    def check(session: Session) -> tuple[BillingPeriod, Project, list[str], list[InviteRefusal]]:
        period, project = admin_period(session, user, period_id, "invite to bill")
        return (
            period,
            project,
            *invitations.eligible_for_invite(session, project, period, body.commitment_ids),
        )

    period, project, eligible, refused = await reading(engine, check)
    note(project_id=project.id)
    if not eligible:
        return InviteResponse(invited=[], refused=refused)
    request = InviteCommitments(commitment_ids=eligible, message=body.message, actor=user)
    missing = f"billing period {period_id} not found"
    temporal = await get_temporal(http)
    if len(eligible) == 1:
        # One commitment goes straight to its own billing workflow, started if need be.
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
    refused += [InviteRefusal(**refusal.model_dump()) for refusal in result.refused]
    return InviteResponse(invited=result.invited, refused=refused)


@router.post("/billing-periods/{period_id}/close")
async def close_period(
    period_id: str,
    engine: EngineDep,
    settings: SettingsDep,
    user: CurrentUser,
    http: Request,
    update_id: UpdateId,
) -> PeriodPublic:
    """Close the period: no new invites, every open commitment workflow ends cleanly."""
    period, project = await reading(
        engine, lambda session: admin_period(session, user, period_id, "close")
    )
    temporal = await get_temporal(http)
    await workflow_update(
        lambda: temporal.execute_update_with_start_workflow(
            BillingPeriodWorkflow.close,
            ClosePeriod(actor=user),
            start_workflow_operation=start_operation(settings, period, project),
            id=update_id,
        ),
        f"billing period {period_id} not found",
    )
    closed = await reading(engine, lambda session: session.get(BillingPeriod, period_id))
    assert closed is not None
    return service.to_public(closed)


@router.post("/billing-periods/{period_id}/commitments/{commitment_id}/extend-due-date")
async def extend_due_date(
    period_id: str,
    commitment_id: str,
    body: ExtendDueDateRequest,
    engine: EngineDep,
    user: CurrentUser,
    http: Request,
    update_id: UpdateId,
) -> InvitationView:
    """Give one commitment a later due date; its contact can accept and submit again."""
    await reading(
        engine, lambda session: admin_period(session, user, period_id, "extend due dates")
    )
    handle = billing_handle(await get_temporal(http), commitment_id, period_id)
    return await workflow_update(
        lambda: handle.execute_update(
            CommitmentBillingWorkflow.extend_due_date,
            ExtendDueDate(due_date=body.due_date, actor=user),
            id=update_id,
        ),
        f"no invitation for commitment {commitment_id} in billing period {period_id}",
    )
