"""Billing periods: opening one (by an admin or the monthly cycle), closing it, and its board.

What the billing workflows' activities call here (``close``, ``open_planned``, ``invite_one``) is
one transaction with its audit event, and idempotent, because Temporal may run an activity again
after a crash. An invitation's own states are the invitations service's.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from paydraw.access import ADMIN_ONLY, EVERY_STAFF_ROLE, project_for
from paydraw.actors import BILLING_CYCLE, Actor
from paydraw.audit import record
from paydraw.commitments import repository as commitments
from paydraw.db.tables import BillingPeriod, Project
from paydraw.domain.errors import InvalidTransition, NotFound
from paydraw.domain.money import ZERO
from paydraw.domain.transitions import InvitationStatus, PeriodStatus, Role
from paydraw.invitations import service as invitations
from paydraw.periods import repository
from paydraw.periods.schemas import Board, BoardCounts, BoardRow, PeriodCreate, PeriodPublic
from paydraw.settings import Settings


def to_public(period: BillingPeriod) -> PeriodPublic:
    return PeriodPublic.model_validate(period, from_attributes=True)


def open_period(
    session: Session, actor: Actor, project_id: str, request: PeriodCreate
) -> tuple[PeriodPublic, Project]:
    """Open a period; the database's partial unique index keeps it to one open period a project,
    also when two requests race."""
    project, _ = project_for(session, actor.id, project_id, ADMIN_ONLY, "open billing periods")
    existing = repository.open_period(session, project.id)
    if existing is None:
        period = BillingPeriod(project_id=project.id, **request.model_dump())
        try:
            with session.begin_nested():
                session.add(period)
        except IntegrityError:
            existing = repository.open_period(session, project.id)
    if existing is not None:
        raise InvalidTransition(
            PeriodStatus.OPEN,
            "open_period",
            ["close"],
            message=f"billing period {existing.id} is still open; close it before opening another",
        )
    record(
        session,
        actor,
        entity_type="billing_period",
        entity_id=period.id,
        action="open",
        project_id=project.id,
        to_state=PeriodStatus.OPEN,
        detail=request.model_dump(mode="json"),
    )
    return to_public(period), project


def monthly_period_dates(today: date, due_day: int) -> tuple[date, date, date]:
    """This month's period for a cycle starting ``today``: it ends the day before the same day next
    month, and is due on ``due_day`` (this month, or next month when that day has passed)."""
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    end = next_month.replace(day=min(today.day, 28)) - timedelta(days=1)
    due = today.replace(day=due_day) if due_day >= today.day else next_month.replace(day=due_day)
    return today, end, due


def plan_monthly(
    session: Session, project_id: str, today: date
) -> tuple[date, date, date, str | None]:
    """The start, end and due date of the period the project's monthly cycle opens ``today``,
    and the open period it must close first (None when there is none, or when today's period
    is already the open one: a retry)."""
    project = session.get(Project, project_id)
    assert project is not None
    start, end, due = monthly_period_dates(today, project.billing_cycle_due_day)
    still_open = repository.open_period(session, project.id)
    if still_open is not None and still_open.start_date == start:
        still_open = None
    return start, end, due, still_open.id if still_open else None


DeleteDrafts = Callable[[Session, Actor, str], object]


class StillClosing(Exception):
    """Last month's period is still being closed: try again shortly."""


def close(
    session: Session, period_id: str, actor: Actor, at: datetime, delete_drafts: DeleteDrafts
) -> None:
    """Close the period (audited, once); ``delete_drafts`` (the pay-app service's) deletes its
    drafts, whose amounts become billable again."""
    period = session.get(BillingPeriod, period_id)
    assert period is not None
    if period.status == PeriodStatus.CLOSED:
        return
    record(
        session,
        actor,
        entity_type="billing_period",
        entity_id=period.id,
        action="close",
        project_id=period.project_id,
        from_state=period.status,
        to_state=PeriodStatus.CLOSED,
    )
    period.status = PeriodStatus.CLOSED
    period.closed_at = at
    session.add(period)
    delete_drafts(session, actor, period.id)


def open_planned(
    session: Session, project_id: str, start: date, end: date, due: date, detail: dict[str, Any]
) -> tuple[BillingPeriod, Project, list[str]]:
    """The monthly cycle's period, opened (audited) or found on a retry, with the commitments
    eligible for its invite. Refused while last month's period is still closing."""
    project = session.get(Project, project_id)
    assert project is not None
    period = repository.open_period(session, project.id)
    if period is not None and period.start_date != start:
        raise StillClosing(f"billing period {period.id} is still closing")
    if period is None:
        period = BillingPeriod(project_id=project.id, start_date=start, end_date=end, due_date=due)
        session.add(period)
        session.flush()
        record(
            session,
            BILLING_CYCLE,
            entity_type="billing_period",
            entity_id=period.id,
            action="open",
            project_id=project.id,
            to_state=PeriodStatus.OPEN,
            detail=detail,
        )
    commitment_ids = [commitment.id for commitment in commitments.of_project(session, project.id)]
    eligible, _ = invitations.eligible_for_invite(session, project, period, commitment_ids)
    return period, project, eligible


def period_for(
    session: Session,
    actor: Actor,
    period_id: str,
    allowed: frozenset[Role] = EVERY_STAFF_ROLE,
    action: str = "change this billing period",
) -> tuple[BillingPeriod, Project]:
    period = session.get(BillingPeriod, period_id)
    if period is None:
        raise NotFound(f"billing period {period_id} not found")
    try:
        project, _ = project_for(session, actor.id, period.project_id, allowed, action)
    except NotFound:
        raise NotFound(f"billing period {period_id} not found") from None
    return period, project


def locked_period(session: Session, period_id: str) -> BillingPeriod:
    """The period, its row locked until the transaction ends (a close waits for it)."""
    query = select(BillingPeriod).where(BillingPeriod.id == period_id).with_for_update()
    period = session.exec(query).first()
    if period is None:
        raise NotFound(f"billing period {period_id} not found")
    return period


def require_open(period: BillingPeriod, action: str) -> None:
    if period.status != PeriodStatus.OPEN:
        raise InvalidTransition(period.status, action, [], subject="a billing period")


def invite_one(
    session: Session,
    settings: Settings,
    period_id: str,
    commitment_id: str,
    *,
    actor: Actor,
    message: str,
    at: datetime,
) -> list[str]:
    """The admin's invite of one commitment, recorded with its emails queued; refused once the
    period has closed. The period's row stays locked until the commit, so a close that follows
    sees this invitation among the ones to tell."""
    period = locked_period(session, period_id)
    require_open(period, "invite")
    return invitations.record_invites(
        session, settings, period.id, [commitment_id], actor=actor, message=message, at=at
    )


def board(session: Session, actor: Actor, period_id: str) -> Board:
    """Counts and one row per commitment of the project, from plain SQL."""
    period, project = period_for(session, actor, period_id)
    pay_apps = repository.pay_app_statuses(session, period.id)
    counts = BoardCounts()
    rows = []
    for row in repository.board_rows(session, project.id, period.id):
        cid, number, vendor, status, overdue, extended_to, failure, invited, answered = row[:9]
        why, scheduled, this_period, certified_billed, certified_retainage = row[9:]
        # The certificate keeps its figures as strings with two places.
        billed = Decimal(certified_billed or ZERO)
        status = status or InvitationStatus.NOT_INVITED
        setattr(counts, status, getattr(counts, status) + 1)
        pay_app_status = pay_apps.get(cid)
        if pay_app_status:
            counts.pay_apps[pay_app_status] = counts.pay_apps.get(pay_app_status, 0) + 1
        counts.overdue += bool(overdue)
        counts.email_failed += bool(failure)
        # Read from the database as the schema has it: built without validating again.
        rows.append(
            BoardRow.model_construct(
                commitment_id=cid,
                number=number,
                vendor_name=vendor,
                invitation_status=status,
                pay_app_status=pay_app_status,
                overdue=bool(overdue),
                due_date=extended_to or period.due_date,
                email_failure=failure or "",
                invited_at=invited,
                answered_at=answered,
                decline_reason=why or "",
                scheduled_value=scheduled,
                billed_to_date=billed,
                this_period=this_period or ZERO,
                retainage=Decimal(certified_retainage or ZERO),
                balance_to_finish=scheduled - billed,
            )
        )
    return Board(period=to_public(period), counts=counts, rows=rows)
