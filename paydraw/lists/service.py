"""Lists for people and programs to find their way: the caller's projects, a project's
commitments and billing periods, pay apps by project, period, status or "waiting for me", and
an object's history. Each is a page in a stable order (paydraw.lists.paging), and each shows only
what the caller has a role on: a project without one is not found, as everywhere else."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy
from sqlalchemy import and_, false, or_
from sqlmodel import Session, col, select

from paydraw.access import commitment_for, project_for
from paydraw.actors import Actor
from paydraw.db.tables import (
    AuditEvent,
    BillingPeriod,
    ChangeOrder,
    Commitment,
    Invitation,
    PayApp,
    Project,
    ProjectMember,
)
from paydraw.domain.errors import NotFound
from paydraw.domain.transitions import PayAppStatus, Role
from paydraw.lists.paging import read_page
from paydraw.lists.schemas import (
    CommitmentListed,
    CommitmentPage,
    HistoryEvent,
    HistoryPage,
    HistorySubject,
    PayAppListed,
    PayAppPage,
    PeriodPage,
    ProjectPage,
)
from paydraw.periods.schemas import PeriodPublic
from paydraw.periods.service import period_for
from paydraw.projects.service import to_public

# What waits for whom: a reviewer reviews; an admin reviews too, finalizes what is approved and
# pays what is finalized. A viewer waits on nothing.
WAITING_FOR: dict[Role, frozenset[PayAppStatus]] = {
    Role.ADMIN: frozenset(
        {PayAppStatus.UNDER_REVIEW, PayAppStatus.APPROVED, PayAppStatus.FINALIZED}
    ),
    Role.REVIEWER: frozenset({PayAppStatus.UNDER_REVIEW}),
}


def projects(session: Session, actor: Actor, cursor: str | None, limit: int) -> ProjectPage:
    """The projects the caller has a role on, oldest first."""
    query = (
        select(Project, ProjectMember.role)
        .join(ProjectMember, col(ProjectMember.project_id) == col(Project.id))
        .where(ProjectMember.user_id == actor.id)
    )
    keys = (col(Project.created_at), col(Project.id))
    items, next_cursor = read_page(
        session,
        query,
        keys,
        cursor,
        limit,
        key_of=lambda row: (row[0].created_at, row[0].id),
        item_of=lambda row: to_public(row[0], Role(row[1])),
    )
    return ProjectPage(items=items, next_cursor=next_cursor)


def commitments(
    session: Session, actor: Actor, project_id: str, cursor: str | None, limit: int
) -> CommitmentPage:
    """The project's commitments in number order."""
    project_for(session, actor.id, project_id)
    query = select(Commitment).where(Commitment.project_id == project_id)
    items, next_cursor = read_page(
        session,
        query,
        (col(Commitment.number), col(Commitment.id)),
        cursor,
        limit,
        key_of=lambda row: (row.number, row.id),
        item_of=lambda row: CommitmentListed.model_validate(row, from_attributes=True),
    )
    return CommitmentPage(items=items, next_cursor=next_cursor)


def periods(
    session: Session, actor: Actor, project_id: str, cursor: str | None, limit: int
) -> PeriodPage:
    """The project's billing periods, earliest first."""
    project_for(session, actor.id, project_id)
    query = select(BillingPeriod).where(BillingPeriod.project_id == project_id)
    items, next_cursor = read_page(
        session,
        query,
        (col(BillingPeriod.start_date), col(BillingPeriod.id)),
        cursor,
        limit,
        key_of=lambda row: (row.start_date, row.id),
        item_of=lambda row: PeriodPublic.model_validate(row, from_attributes=True),
    )
    return PeriodPage(items=items, next_cursor=next_cursor)


def pay_apps(
    session: Session,
    actor: Actor,
    *,
    project_id: str | None = None,
    period_id: str | None = None,
    commitment_id: str | None = None,
    statuses: Sequence[PayAppStatus] = (),
    waiting_for_me: bool = False,
    cursor: str | None = None,
    limit: int,
) -> PayAppPage:
    """Pay apps of the projects the caller has a role on, oldest first; narrowed to a project,
    a period, a commitment or statuses, or to those waiting for the caller's next step."""
    if project_id is not None:
        project_for(session, actor.id, project_id)
    if period_id is not None:
        period_for(session, actor, period_id)
    if commitment_id is not None:
        commitment_for(session, actor.id, commitment_id)
    query: Any = (
        select(PayApp, Commitment, ProjectMember.role)
        .join(Commitment, col(Commitment.id) == col(PayApp.commitment_id))
        .join(
            ProjectMember,
            and_(
                col(ProjectMember.project_id) == col(Commitment.project_id),
                col(ProjectMember.user_id) == actor.id,
            ),
        )
    )
    if project_id is not None:
        query = query.where(col(Commitment.project_id) == project_id)
    if period_id is not None:
        query = query.where(col(PayApp.period_id) == period_id)
    if commitment_id is not None:
        query = query.where(col(PayApp.commitment_id) == commitment_id)
    if statuses:
        query = query.where(col(PayApp.status).in_([str(status) for status in statuses]))
    if waiting_for_me:
        query = query.where(waiting_for_role())
    items, next_cursor = read_page(
        session,
        query,
        (col(PayApp.created_at), col(PayApp.id)),
        cursor,
        limit,
        key_of=lambda row: (row[0].created_at, row[0].id),
        item_of=lambda row: listed(row[0], row[1]),
    )
    return PayAppPage(items=items, next_cursor=next_cursor)


def waiting_for_role() -> Any:
    """The pay app's status is one its project's member (the caller) acts on next."""
    waits = [
        and_(
            col(ProjectMember.role) == str(role),
            col(PayApp.status).in_([str(status) for status in statuses]),
        )
        for role, statuses in WAITING_FOR.items()
    ]
    return or_(false(), *waits)


def listed(pay_app: PayApp, commitment: Commitment) -> PayAppListed:
    return PayAppListed(
        id=pay_app.id,
        project_id=commitment.project_id,
        commitment_id=commitment.id,
        commitment_number=commitment.number,
        vendor_name=commitment.vendor_name,
        period_id=pay_app.period_id,
        number=pay_app.number,
        kind=pay_app.kind,
        status=pay_app.status,
        payment_status=pay_app.payment_status,
        created_at=pay_app.created_at,
        submitted_at=pay_app.submitted_at,
        finalized_at=pay_app.finalized_at,
    )


def history(
    session: Session,
    actor: Actor,
    entity_type: str,
    entity_id: str,
    cursor: str | None,
    limit: int,
) -> HistoryPage:
    """What happened to a project, a commitment, a billing period or a pay app, oldest first.

    A project's history is every event of the project; a commitment's has its change orders',
    invitations' and pay apps' events with its own; a period's its invitations' with its own."""
    project_id = project_of(session, actor, entity_type, entity_id)
    query = select(AuditEvent).where(AuditEvent.project_id == project_id)
    if entity_type != "project":
        query = query.where(events_of(entity_type, entity_id))
    items, next_cursor = read_page(
        session,
        query,
        (col(AuditEvent.at), col(AuditEvent.id)),
        cursor,
        limit,
        key_of=lambda row: (row.at, row.id),
        item_of=lambda row: HistoryEvent.model_validate(row, from_attributes=True),
    )
    return HistoryPage(items=items, next_cursor=next_cursor)


def subjects(session: Session, events: Sequence[HistoryEvent]) -> dict[str, HistorySubject]:
    """The commitment each event is about, by event id: the commitment's own events, and those
    of its change orders, invitations and pay apps (a project's or a period's own events have
    none). One query per kind of thing, for a page of events."""
    ids: dict[str, set[str]] = {}
    for event in events:
        ids.setdefault(event.entity_type, set()).add(event.entity_id)
    commitment = (col(Commitment.id), col(Commitment.number), col(Commitment.vendor_name))
    no_pay_app = (sqlalchemy.null(), sqlalchemy.null())
    parts: dict[str, Any] = {
        "commitment": sqlalchemy.select(col(Commitment.id), *commitment, *no_pay_app),
        "change_order": sqlalchemy.select(col(ChangeOrder.id), *commitment, *no_pay_app).join(
            Commitment, col(Commitment.id) == col(ChangeOrder.commitment_id)
        ),
        "invitation": sqlalchemy.select(col(Invitation.id), *commitment, *no_pay_app).join(
            Commitment, col(Commitment.id) == col(Invitation.commitment_id)
        ),
        "pay_app": sqlalchemy.select(
            col(PayApp.id), *commitment, col(PayApp.id), col(PayApp.number)
        ).join(Commitment, col(Commitment.id) == col(PayApp.commitment_id)),
    }
    found: dict[str, HistorySubject] = {}
    for entity_type, query in parts.items():
        if entity_type not in ids:
            continue
        entity_id = query.selected_columns[0]
        for row in session.execute(query.where(entity_id.in_(ids[entity_type]))):
            found[row[0]] = HistorySubject(
                commitment_id=row[1],
                commitment_number=row[2],
                vendor_name=row[3],
                pay_app_id=row[4],
                pay_app_number=row[5],
            )
    return {event.id: found[event.entity_id] for event in events if event.entity_id in found}


def events_of(entity_type: str, entity_id: str) -> Any:
    """Which events make up the object's history: its own, and its parts'."""
    entity = col(AuditEvent.entity_id)
    parts: list[Any] = []
    if entity_type == "commitment":
        parts = [
            select(ChangeOrder.id).where(ChangeOrder.commitment_id == entity_id),
            select(Invitation.id).where(Invitation.commitment_id == entity_id),
            select(PayApp.id).where(PayApp.commitment_id == entity_id),
        ]
    elif entity_type == "billing_period":
        parts = [select(Invitation.id).where(Invitation.period_id == entity_id)]
    return or_(entity == entity_id, *[entity.in_(part) for part in parts])


def project_of(session: Session, actor: Actor, entity_type: str, entity_id: str) -> str:
    """The project of the object whose history is asked, checking the caller's role on it."""
    match entity_type:
        case "project":
            project, _ = project_for(session, actor.id, entity_id)
            return project.id
        case "commitment":
            commitment, _, _ = commitment_for(session, actor.id, entity_id)
            return commitment.project_id
        case "billing_period":
            period, _ = period_for(session, actor, entity_id)
            return period.project_id
        case "pay_app":
            pay_app = session.get(PayApp, entity_id)
            if pay_app is None:
                raise NotFound(f"pay app {entity_id} not found")
            try:
                commitment, _, _ = commitment_for(session, actor.id, pay_app.commitment_id)
            except NotFound:
                raise NotFound(f"pay app {entity_id} not found") from None
            return commitment.project_id
    raise NotFound(f"{entity_type} {entity_id} not found")
