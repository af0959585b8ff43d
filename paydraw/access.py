"""Who may see and do what on a project.

Everything a caller has no role on is reported as not found, so nobody learns that another
company's project exists. A role that may see but not act gets a permission error.
"""

from sqlalchemy import bindparam
from sqlmodel import Session, select

from paydraw.db.tables import Commitment, Project, ProjectMember
from paydraw.domain.errors import NotFound, PermissionDenied
from paydraw.domain.transitions import Role

EVERY_STAFF_ROLE = frozenset({Role.ADMIN, Role.REVIEWER, Role.VIEWER})
ADMIN_ONLY = frozenset({Role.ADMIN})


ROLE_ON_PROJECT = select(ProjectMember.role).where(
    ProjectMember.project_id == bindparam("project_id"),
    ProjectMember.user_id == bindparam("user_id"),
)


def role_on_project(session: Session, user_id: str, project_id: str) -> Role | None:
    params = {"project_id": project_id, "user_id": user_id}
    role = session.exec(ROLE_ON_PROJECT, params=params).first()
    return Role(role) if role else None


def project_for(
    session: Session,
    user_id: str,
    project_id: str,
    allowed: frozenset[Role] = EVERY_STAFF_ROLE,
    action: str = "change this project",
) -> tuple[Project, Role]:
    """The project and the caller's role on it, or NotFound / PermissionDenied."""
    project = session.get(Project, project_id)
    role = role_on_project(session, user_id, project_id) if project else None
    if project is None or role is None:
        raise NotFound(f"project {project_id} not found")
    if role not in allowed:
        raise PermissionDenied(f"a {role} may not {action}")
    return project, role


def commitment_for(
    session: Session,
    user_id: str,
    commitment_id: str,
    allowed: frozenset[Role] = EVERY_STAFF_ROLE,
    action: str = "change this commitment",
) -> tuple[Commitment, Project, Role]:
    commitment = session.get(Commitment, commitment_id)
    if commitment is None:
        raise NotFound(f"commitment {commitment_id} not found")
    try:
        project, role = project_for(session, user_id, commitment.project_id, allowed, action)
    except NotFound:
        raise NotFound(f"commitment {commitment_id} not found") from None
    return commitment, project, role
