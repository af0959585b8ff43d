"""Projects: create, read, and manage who works on them."""

from decimal import Decimal
from typing import Any

from sqlmodel import Session

from paydraw.access import ADMIN_ONLY, project_for
from paydraw.actors import Actor
from paydraw.audit import record
from paydraw.db.tables import Project, ProjectMember
from paydraw.domain.transitions import Role
from paydraw.projects import repository
from paydraw.projects.schemas import (
    BillingCycle,
    MemberAdd,
    MemberPublic,
    ProjectCreate,
    ProjectMembers,
    ProjectPublic,
    ProjectSettings,
    StaffRole,
)
from paydraw.settings import Settings
from paydraw.users import sign_in
from paydraw.users.service import ensure_user


def create_project(session: Session, actor: Actor, request: ProjectCreate) -> ProjectPublic:
    """Create a project; its creator becomes its first admin."""
    fields = request.model_dump(exclude={"billing_cycle"})
    project = Project(
        **fields,
        billing_cycle_enabled=request.billing_cycle.enabled,
        billing_cycle_start_day=request.billing_cycle.start_day,
        billing_cycle_due_day=request.billing_cycle.due_day,
        created_by=actor.id,
    )
    session.add(project)
    session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=actor.id, role=Role.ADMIN))
    record(
        session,
        actor,
        entity_type="project",
        entity_id=project.id,
        action="create",
        project_id=project.id,
        to_state="active",
        detail=request.model_dump(mode="json"),
    )
    return to_public(project, Role.ADMIN)


def get_project(session: Session, actor: Actor, project_id: str) -> ProjectPublic:
    project, role = project_for(session, actor.id, project_id)
    return to_public(project, role)


def add_member(session: Session, actor: Actor, project_id: str, request: MemberAdd) -> MemberPublic:
    """Give a person a role on the project (creating their user if new), or change their role."""
    project, _ = project_for(session, actor.id, project_id, ADMIN_ONLY, "manage members")
    user = ensure_user(session, str(request.email), request.name)
    member = repository.membership(session, project.id, user.id)
    previous_role = member.role if member else None
    if member is None:
        member = ProjectMember(project_id=project.id, user_id=user.id, role=request.role)
        session.add(member)
    member.role = request.role
    if previous_role != request.role:
        record(
            session,
            actor,
            entity_type="project_member",
            entity_id=user.id,
            action="set_role",
            project_id=project.id,
            from_state=previous_role,
            to_state=request.role,
            detail={"email": user.email},
        )
    return MemberPublic(user_id=user.id, email=user.email, name=user.name, role=request.role)


def add_member_emailed(
    session: Session, settings: Settings, actor: Actor, project_id: str, request: MemberAdd
) -> tuple[MemberPublic, str | None]:
    """Add the member as ``add_member`` does, and queue them an email with a link that signs
    them in and lands on the project; the member and the email's outbox id."""
    member = add_member(session, actor, project_id, request)
    landing = f"/projects/{project_id}"
    return member, sign_in.email_sign_in_link(session, settings, member.email, landing)


def list_members(session: Session, actor: Actor, project_id: str) -> ProjectMembers:
    project, _ = project_for(session, actor.id, project_id)
    return ProjectMembers(
        members=[
            MemberPublic(
                user_id=user.id, email=user.email, name=user.name, role=StaffRole(member.role)
            )
            for member, user in repository.members(session, project.id)
        ]
    )


def to_public(project: Project, role: Role) -> ProjectPublic:
    return ProjectPublic(
        **project.model_dump(
            exclude={
                "billing_cycle_enabled",
                "billing_cycle_start_day",
                "billing_cycle_due_day",
                "created_by",
            }
        ),
        billing_cycle=BillingCycle(
            enabled=project.billing_cycle_enabled,
            start_day=project.billing_cycle_start_day,
            due_day=project.billing_cycle_due_day,
        ),
        your_role=StaffRole(role),
    )


def set_billing_cycle(
    session: Session, actor: Actor, project_id: str, cycle: BillingCycle
) -> ProjectPublic:
    """Turn the automatic monthly cycle on or off, or move its days."""
    project, role = project_for(
        session, actor.id, project_id, ADMIN_ONLY, "change the billing cycle"
    )
    before = {
        "enabled": project.billing_cycle_enabled,
        "start_day": project.billing_cycle_start_day,
        "due_day": project.billing_cycle_due_day,
    }
    project.billing_cycle_enabled = cycle.enabled
    project.billing_cycle_start_day = cycle.start_day
    project.billing_cycle_due_day = cycle.due_day
    session.add(project)
    record(
        session,
        actor,
        entity_type="project",
        entity_id=project.id,
        action="set_billing_cycle",
        project_id=project.id,
        detail={"from": before, "to": cycle.model_dump()},
    )
    return to_public(project, role)


def update_settings(
    session: Session, actor: Actor, project_id: str, changes: ProjectSettings
) -> ProjectPublic:
    """Change the given settings (admins only), audited with what each was and became."""
    project, role = project_for(session, actor.id, project_id, ADMIN_ONLY, "change its settings")
    wanted = changes.model_dump(exclude_unset=True)
    changed = [field for field, value in wanted.items() if getattr(project, field) != value]
    if changed:
        before = {field: _json(getattr(project, field)) for field in changed}
        for field in changed:
            setattr(project, field, wanted[field])
        session.add(project)
        record(
            session,
            actor,
            entity_type="project",
            entity_id=project.id,
            action="change_settings",
            project_id=project.id,
            detail={"from": before, "to": changes.model_dump(mode="json", include=set(changed))},
        )
    return to_public(project, role)


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value
