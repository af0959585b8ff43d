"""Staff endpoints for projects and their members."""

from fastapi import APIRouter, Request, status

from api.deps import CurrentUser, EngineDep, SessionDep
from api.process import get_temporal
from api.reads import in_transaction
from paydraw.projects import service
from paydraw.projects.schemas import (
    BillingCycle,
    MemberAdd,
    MemberPublic,
    ProjectCreate,
    ProjectMembers,
    ProjectPublic,
    ProjectSettings,
)
from paydraw.schedules import sync_billing_cycle

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_project(
    body: ProjectCreate, request: Request, engine: EngineDep, user: CurrentUser
) -> ProjectPublic:
    """Create a project; the caller becomes its admin."""
    project = await in_transaction(
        engine, lambda session: service.create_project(session, user, body)
    )
    if project.billing_cycle.enabled:
        await sync_schedule(request, project)
    return project


@router.put("/{project_id}/billing-cycle")
async def set_billing_cycle(
    project_id: str, body: BillingCycle, request: Request, engine: EngineDep, user: CurrentUser
) -> ProjectPublic:
    """Turn the automatic monthly billing cycle on or off (a Temporal Schedule per project)."""
    project = await in_transaction(
        engine, lambda session: service.set_billing_cycle(session, user, project_id, body)
    )
    await sync_schedule(request, project)
    return project


async def sync_schedule(request: Request, project: ProjectPublic) -> None:
    temporal = await get_temporal(request)
    await sync_billing_cycle(
        temporal, request.app.state.settings, project.id, project.billing_cycle
    )


@router.patch("/{project_id}")
def update_settings(
    project_id: str, body: ProjectSettings, session: SessionDep, user: CurrentUser
) -> ProjectPublic:
    """Change a project's settings; only the fields given change. The over-billing policy,
    terminology and currency apply at once, the retainage default to commitments added later,
    the reminder offsets to periods opened later."""
    return service.update_settings(session, user, project_id, body)


@router.get("/{project_id}")
def get_project(project_id: str, session: SessionDep, user: CurrentUser) -> ProjectPublic:
    """Read a project and its settings."""
    return service.get_project(session, user, project_id)


@router.post("/{project_id}/members", status_code=status.HTTP_201_CREATED)
def add_member(
    project_id: str, body: MemberAdd, session: SessionDep, user: CurrentUser
) -> MemberPublic:
    """Give a person a role (admin, reviewer, viewer) on the project."""
    return service.add_member(session, user, project_id, body)


@router.get("/{project_id}/members")
def list_members(project_id: str, session: SessionDep, user: CurrentUser) -> ProjectMembers:
    """List the project's members and their roles."""
    return service.list_members(session, user, project_id)
