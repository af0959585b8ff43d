"""Staff endpoints for projects and their members."""

from fastapi import APIRouter, status

from api.deps import CurrentUser, SessionDep
from paydraw.projects import service
from paydraw.projects.schemas import (
    MemberAdd,
    MemberPublic,
    ProjectCreate,
    ProjectMembers,
    ProjectPublic,
)

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(body: ProjectCreate, session: SessionDep, user: CurrentUser) -> ProjectPublic:
    """Create a project; the caller becomes its admin."""
    return service.create_project(session, user, body)


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
