"""Lists for finding one's way: the caller's projects, a project's commitments and billing
periods, pay apps by project, period, commitment, status or "waiting for me", and the history of
a project, a commitment, a billing period or a pay app. Each answers a page and the cursor of
the next (paydraw.lists)."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep
from paydraw.domain.transitions import PayAppStatus
from paydraw.lists import service
from paydraw.lists.paging import DEFAULT_LIMIT, MAX_LIMIT
from paydraw.lists.schemas import (
    CommitmentPage,
    HistoryPage,
    PayAppPage,
    PeriodPage,
    ProjectPage,
)

router = APIRouter(prefix="/api/v1", tags=["lists"])

Cursor = Annotated[
    str | None, Query(max_length=500, description="The `next_cursor` of the page before.")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items a page.")]


@router.get("/projects")
def list_projects(
    session: SessionDep, user: CurrentUser, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> ProjectPage:
    """The projects you have a role on, oldest first."""
    return service.projects(session, user, cursor, limit)


@router.get("/projects/{project_id}/commitments")
def list_commitments(
    project_id: str,
    session: SessionDep,
    user: CurrentUser,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> CommitmentPage:
    """The project's commitments in number order."""
    return service.commitments(session, user, project_id, cursor, limit)


@router.get("/projects/{project_id}/billing-periods")
def list_billing_periods(
    project_id: str,
    session: SessionDep,
    user: CurrentUser,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> PeriodPage:
    """The project's billing periods, earliest first."""
    return service.periods(session, user, project_id, cursor, limit)


@router.get("/pay-apps")
def list_pay_apps(
    session: SessionDep,
    user: CurrentUser,
    project_id: str | None = None,
    period_id: str | None = None,
    commitment_id: str | None = None,
    status: Annotated[list[PayAppStatus] | None, Query(description="One or more.")] = None,
    waiting_for_me: Annotated[
        bool,
        Query(
            description="Only those waiting for your next step: to review (reviewers and "
            "admins), to finalize or to pay (admins)."
        ),
    ] = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> PayAppPage:
    """Pay apps of your projects, oldest first, narrowed by the filters given."""
    return service.pay_apps(
        session,
        user,
        project_id=project_id,
        period_id=period_id,
        commitment_id=commitment_id,
        statuses=status or (),
        waiting_for_me=waiting_for_me,
        cursor=cursor,
        limit=limit,
    )


@router.get("/projects/{project_id}/history")
def project_history(
    project_id: str,
    session: SessionDep,
    user: CurrentUser,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> HistoryPage:
    """Everything recorded on the project, oldest first."""
    return service.history(session, user, "project", project_id, cursor, limit)


@router.get("/commitments/{commitment_id}/history")
def commitment_history(
    commitment_id: str,
    session: SessionDep,
    user: CurrentUser,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> HistoryPage:
    """The commitment's history with its change orders', invitations' and pay apps'."""
    return service.history(session, user, "commitment", commitment_id, cursor, limit)


@router.get("/billing-periods/{period_id}/history")
def billing_period_history(
    period_id: str,
    session: SessionDep,
    user: CurrentUser,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> HistoryPage:
    """The billing period's history with its invitations'."""
    return service.history(session, user, "billing_period", period_id, cursor, limit)


@router.get("/pay-apps/{pay_app_id}/history")
def pay_app_history(
    pay_app_id: str,
    session: SessionDep,
    user: CurrentUser,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> HistoryPage:
    """The pay app's history."""
    return service.history(session, user, "pay_app", pay_app_id, cursor, limit)
