"""Queries for projects and their members."""

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from paydraw.db.tables import Project, ProjectMember, User


def members(session: Session, project_id: str) -> list[tuple[ProjectMember, User]]:
    query = (
        select(ProjectMember, User)
        .join(User, col(User.id) == col(ProjectMember.user_id))
        .where(ProjectMember.project_id == project_id)
    )
    return [(member, user) for member, user in session.exec(query)]


def membership(session: Session, project_id: str, user_id: str) -> ProjectMember | None:
    query = select(ProjectMember).where(
        ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
    )
    return session.exec(query).first()


EMAILS_WITH_ROLE = (
    select(User.email)
    .join(ProjectMember, col(ProjectMember.user_id) == col(User.id))
    .where(
        ProjectMember.project_id == bindparam("project_id"), ProjectMember.role == bindparam("role")
    )
)


def emails_with_role(session: Session, project_id: str, role: str) -> list[str]:
    return sorted(session.exec(EMAILS_WITH_ROLE, params={"project_id": project_id, "role": role}))


def created_with_number(session: Session, user_id: str, number: str) -> Project | None:
    """The project ``user_id`` created under ``number``, the oldest if there are several."""
    query = (
        select(Project)
        .where(Project.created_by == user_id, Project.number == number)
        .order_by(col(Project.created_at))
    )
    return session.exec(query).first()
