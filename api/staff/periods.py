"""Staff endpoints for billing periods: open, invite (bulk), the board, extend, close."""

from fastapi import APIRouter, Request, status

from api import period_steps
from api.deps import CurrentUser, SessionDep
from api.process import UpdateId
from paydraw.invitations.schemas import (
    ExtendDueDateRequest,
    InviteRequest,
    InviteResponse,
)
from paydraw.periods import service
from paydraw.periods.schemas import Board, PeriodCreate, PeriodPublic
from workflows.messages import (
    InvitationView,
)

router = APIRouter(prefix="/api/v1", tags=["billing periods"])


@router.post("/projects/{project_id}/billing-periods", status_code=status.HTTP_201_CREATED)
async def open_period(
    project_id: str, body: PeriodCreate, user: CurrentUser, http: Request
) -> PeriodPublic:
    """Open a billing period (at most one open per project) and start its workflow."""
    return await period_steps.open_period(http, user, project_id, body)


@router.get("/billing-periods/{period_id}")
def get_board(period_id: str, session: SessionDep, user: CurrentUser) -> Board:
    """The board: counts, and one row per commitment with its invitation and pay-app status."""
    return service.board(session, user, period_id)


@router.post("/billing-periods/{period_id}/invites")
async def invite(
    period_id: str, body: InviteRequest, user: CurrentUser, http: Request, update_id: UpdateId
) -> InviteResponse:
    """Invite commitments to bill; each refused one comes back with its reason."""
    return await period_steps.invite(http, user, period_id, body, update_id)


@router.post("/billing-periods/{period_id}/close")
async def close_period(
    period_id: str, user: CurrentUser, http: Request, update_id: UpdateId
) -> PeriodPublic:
    """Close the period: no new invites, every open commitment workflow ends cleanly."""
    return await period_steps.close(http, user, period_id, update_id)


@router.post("/billing-periods/{period_id}/commitments/{commitment_id}/extend-due-date")
async def extend_due_date(
    period_id: str,
    commitment_id: str,
    body: ExtendDueDateRequest,
    user: CurrentUser,
    http: Request,
    update_id: UpdateId,
) -> InvitationView:
    """Give one commitment a later due date; its contact can accept and submit again."""
    return await period_steps.extend_due_date(http, user, period_id, commitment_id, body, update_id)
