"""Billing periods: opening, who may be invited, the board, and the invitation's persisted states.

The functions named ``record_*`` / ``persist_*`` are what the billing workflow's activities call:
each is one transaction with its audit event, and each is idempotent, because Temporal may run an
activity again after a crash.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from emails.outbox import EmailRequest, enqueue, enqueue_all, enqueue_request
from paydraw.access import ADMIN_ONLY, EVERY_STAFF_ROLE, project_for
from paydraw.actors import SYSTEM, Actor
from paydraw.audit import record
from paydraw.contacts.tokens import ContactClaim, link
from paydraw.db.tables import BillingPeriod, Commitment, Contact, Invitation, Project
from paydraw.domain.errors import InvalidTransition, NotFound
from paydraw.domain.transitions import InvitationStatus, Role
from paydraw.periods import repository
from paydraw.periods.schemas import (
    Board,
    BoardCounts,
    BoardRow,
    InviteRefusal,
    PeriodCreate,
    PeriodPublic,
)
from paydraw.projects.repository import emails_with_role
from paydraw.settings import Settings

BILLING_CYCLE = Actor(kind="system", id="billing-cycle")


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
            "open",
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
        to_state="open",
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


DeleteDrafts = Callable[[Session, Actor, str], object]


class StillClosing(Exception):
    """Last month's period is still being closed: try again shortly."""


def close(
    session: Session, period_id: str, actor: str, at: datetime, delete_drafts: DeleteDrafts
) -> None:
    """Close the period (audited, once); ``delete_drafts`` (the pay-app service's) deletes its
    drafts, whose amounts become billable again."""
    period = session.get(BillingPeriod, period_id)
    assert period is not None
    if period.status == "closed":
        return
    record(
        session,
        actor_from_label(actor),
        entity_type="billing_period",
        entity_id=period.id,
        action="close",
        project_id=period.project_id,
        from_state=period.status,
        to_state="closed",
    )
    period.status = "closed"
    period.closed_at = at
    session.add(period)
    delete_drafts(session, actor_from_label(actor), period.id)


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
            to_state="open",
            detail=detail,
        )
    commitment_ids = [commitment.id for commitment in repository.commitments(session, project.id)]
    eligible, _ = eligible_for_invite(session, project, period, commitment_ids)
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
    if period.status != "open":
        raise InvalidTransition(period.status, action, [], subject="a billing period")


def eligible_for_invite(
    session: Session, project: Project, period: BillingPeriod, commitment_ids: list[str]
) -> tuple[list[str], list[InviteRefusal]]:
    """Split the asked commitments into those that can be invited and those refused, with why."""
    asked = list(dict.fromkeys(commitment_ids))
    commitments = {c.id: c for c in repository.commitments(session, project.id, asked)}
    known = [cid for cid in asked if cid in commitments]
    contacts = repository.invoice_contacts(session, known)
    sums = repository.contract_sums(session, known)
    billed = repository.work_billed(session, known)
    invitations = repository.invitations(session, period.id, known)
    eligible: list[str] = []
    refused: list[InviteRefusal] = []
    for commitment_id in asked:
        commitment = commitments.get(commitment_id)
        invitation = invitations.get(commitment_id)
        if commitment is None:
            reason = "no such commitment on this project"
        elif not contacts.get(commitment_id):
            reason = "no invoice contact"
        elif commitment.sov_status != "approved":
            reason = "schedule of values not approved"
        elif sums.get(commitment_id, 0) > 0 and billed.get(commitment_id, 0) >= sums[commitment_id]:
            reason = "already fully billed"
        elif invitation is not None and invitation.status != InvitationStatus.NOT_INVITED:
            reason = f"already invited ({invitation.status})"
        else:
            eligible.append(commitment_id)
            continue
        refused.append(InviteRefusal(commitment_id=commitment_id, reason=reason))
    return eligible, refused


def board(session: Session, actor: Actor, period_id: str) -> Board:
    """Counts and one row per commitment of the project, from plain SQL."""
    period, project = period_for(session, actor, period_id)
    invitations = repository.invitations(session, period.id)
    pay_apps = repository.pay_app_statuses(session, period.id)
    counts = BoardCounts()
    rows = []
    for commitment in repository.commitments(session, project.id):
        invitation = invitations.get(commitment.id)
        status = invitation.status if invitation else InvitationStatus.NOT_INVITED
        setattr(counts, status, getattr(counts, status) + 1)
        pay_app_status = pay_apps.get(commitment.id)
        if pay_app_status:
            counts.pay_apps[pay_app_status] = counts.pay_apps.get(pay_app_status, 0) + 1
        overdue = bool(invitation and invitation.overdue)
        counts.overdue += overdue
        counts.email_failed += bool(invitation and invitation.email_failure)
        rows.append(
            BoardRow(
                commitment_id=commitment.id,
                number=commitment.number,
                vendor_name=commitment.vendor_name,
                invitation_status=status,
                pay_app_status=pay_app_status,
                overdue=overdue,
                due_date=due_date_of(period, invitation),
                email_failure=invitation.email_failure if invitation else "",
                invited_at=invitation.invited_at if invitation else None,
                answered_at=invitation.answered_at if invitation else None,
                decline_reason=invitation.decline_reason if invitation else "",
            )
        )
    return Board(period=to_public(period), counts=counts, rows=rows)


def due_date_of(period: BillingPeriod, invitation: Invitation | None) -> date:
    if invitation is not None and invitation.due_date_extended_to is not None:
        return invitation.due_date_extended_to
    return period.due_date


# -- what the billing workflow's activities persist --------------------------------------------


def record_invites(
    session: Session,
    settings: Settings,
    period_id: str,
    commitment_ids: list[str],
    *,
    actor: str,
    message: str,
    at: datetime,
) -> list[str]:
    """Mark these commitments' invitations sent, each with its audit event, and queue the invite
    email for every invoice contact, in the caller's one transaction; returns the outbox ids.
    A commitment already marked changes nothing, and its emails are found, not queued again."""
    period = session.get(BillingPeriod, period_id)
    assert period is not None
    query = select(Commitment).where(col(Commitment.id).in_(commitment_ids))
    commitments = {commitment.id: commitment for commitment in session.exec(query)}
    invitations = invitation_rows(session, period_id, commitment_ids)
    contacts = repository.invoice_contacts(session, commitment_ids)
    requests: list[EmailRequest] = []
    for commitment_id in commitment_ids:
        invitation = invitations[commitment_id]
        if record_status(
            session,
            invitation,
            period.project_id,
            InvitationStatus.INVITED,
            actor,
            at,
            action="invite",
        ):
            invitation.invited_at = at
            invitation.message = message
        requests += invitation_email_requests(
            session,
            settings,
            period,
            commitments[commitment_id],
            "invite",
            contacts.get(commitment_id, []),
            message=message,
        )
    return [row.id for row in enqueue_all(session, requests)]


def answer(
    session: Session,
    settings: Settings,
    period_id: str,
    commitment_id: str,
    *,
    action: str,
    to_status: InvitationStatus,
    actor: str,
    reason: str,
    at: datetime,
) -> list[str]:
    """The contact's accept or decline, with its audit event; a decline queues a notice to each of
    the project's admins. Returns the outbox ids; a repeat changes nothing and finds them."""
    period = session.get(BillingPeriod, period_id)
    commitment = session.get(Commitment, commitment_id)
    assert period is not None and commitment is not None
    invitation = invitation_row(session, period.id, commitment.id)
    if record_status(
        session, invitation, period.project_id, to_status, actor, at, action=action, reason=reason
    ):
        invitation.answered_at = at
        invitation.decline_reason = reason
    if to_status != InvitationStatus.DECLINED:
        return []
    contact = actor.partition(":")[2]
    return decline_notices(session, settings, period, commitment, contact, reason)


def mark_overdue(
    session: Session, settings: Settings, period_id: str, commitment_id: str, due_date: date
) -> list[str]:
    """Flag the board row overdue (audited, once) and queue the overdue notice; the outbox ids."""
    period = session.get(BillingPeriod, period_id)
    commitment = session.get(Commitment, commitment_id)
    assert period is not None and commitment is not None
    invitation = invitation_row(session, period.id, commitment.id)
    if not invitation.overdue:
        invitation.overdue = True
        session.add(invitation)
        record(
            session,
            SYSTEM,
            entity_type="invitation",
            entity_id=invitation.id,
            action="overdue",
            project_id=period.project_id,
            detail={"due_date": due_date.isoformat()},
        )
    return invitation_emails(
        session, settings, period, commitment, "overdue_notice", due_date=due_date
    )


def extend_due_date(
    session: Session, period_id: str, commitment_id: str, due_date: date, actor: str
) -> None:
    """Give one commitment a later due date (audited); it is no longer overdue."""
    period = session.get(BillingPeriod, period_id)
    assert period is not None
    invitation = invitation_row(session, period.id, commitment_id)
    if invitation.due_date_extended_to == due_date:
        return
    record(
        session,
        actor_from_label(actor),
        entity_type="invitation",
        entity_id=invitation.id,
        action="extend_due_date",
        project_id=period.project_id,
        detail={"from": due_date_of(period, invitation).isoformat(), "to": due_date.isoformat()},
    )
    invitation.due_date_extended_to = due_date
    invitation.overdue = False
    session.add(invitation)


def invitation_rows(
    session: Session, period_id: str, commitment_ids: list[str]
) -> dict[str, Invitation]:
    """The commitments' invitation rows in the period, the missing ones added in one insert (or
    one by one, if a racing transaction added one of them meanwhile)."""
    rows = repository.invitations(session, period_id, commitment_ids)
    missing = [
        Invitation(period_id=period_id, commitment_id=commitment_id)
        for commitment_id in dict.fromkeys(commitment_ids)
        if commitment_id not in rows
    ]
    try:
        with session.begin_nested():
            session.add_all(missing)
    except IntegrityError:
        return {cid: invitation_row(session, period_id, cid) for cid in commitment_ids}
    rows.update((row.commitment_id, row) for row in missing)
    return rows


def invitation_row(session: Session, period_id: str, commitment_id: str) -> Invitation:
    row = repository.invitation(session, period_id, commitment_id)
    if row is None:
        row = Invitation(period_id=period_id, commitment_id=commitment_id)
        with session.begin_nested():
            session.add(row)
    return row


def actor_from_label(label: str) -> Actor:
    kind, _, identity = label.partition(":")
    return Actor(kind=kind, id=identity, email=identity if "@" in identity else "")


def record_status(
    session: Session,
    invitation: Invitation,
    project_id: str,
    to_status: str,
    actor: str,
    at: datetime,
    action: str,
    reason: str = "",
) -> bool:
    """Move the invitation to ``to_status`` with its audit event; False if it already was there."""
    if invitation.status == to_status:
        return False
    record(
        session,
        actor_from_label(actor),
        entity_type="invitation",
        entity_id=invitation.id,
        action=action,
        project_id=project_id,
        from_state=invitation.status,
        to_state=to_status,
        reason=reason,
        detail={"commitment_id": invitation.commitment_id, "period_id": invitation.period_id},
    )
    invitation.status = to_status
    session.add(invitation)
    return True


def invitation_emails(
    session: Session,
    settings: Settings,
    period: BillingPeriod,
    commitment: Commitment,
    kind: str,
    *,
    message: str = "",
    days_left: int = 0,
    due_date: date | None = None,
) -> list[str]:
    """Queue one email of ``kind`` for each invoice contact; returns the outbox ids."""
    contacts = repository.invoice_contacts(session, [commitment.id]).get(commitment.id, [])
    requests = invitation_email_requests(
        session,
        settings,
        period,
        commitment,
        kind,
        contacts,
        message=message,
        days_left=days_left,
        due_date=due_date,
    )
    return [enqueue_request(session, request).id for request in requests]


def invitation_email_requests(
    session: Session,
    settings: Settings,
    period: BillingPeriod,
    commitment: Commitment,
    kind: str,
    contacts: list[Contact],
    *,
    message: str = "",
    days_left: int = 0,
    due_date: date | None = None,
) -> list[EmailRequest]:
    """One email of ``kind`` for each of the commitment's invoice contacts."""
    project = session.get(Project, period.project_id)
    assert project is not None
    due = due_date or period.due_date
    requests = []
    for contact in contacts:
        claim = ContactClaim(commitment_id=commitment.id, period_id=period.id, email=contact.email)
        suffix = f":{due.isoformat()}:{days_left}" if kind == "reminder" else ""
        request = EmailRequest(
            kind=kind,
            dedupe_key=f"{kind}:{commitment.id}:{period.id}:{contact.email}{suffix}",
            to_address=contact.email,
            context={
                "terminology": project.terminology,
                "project_name": project.name,
                "general_contractor": project.general_contractor,
                "vendor_name": commitment.vendor_name,
                "commitment_number": commitment.number,
                "commitment_title": commitment.title,
                "contact_name": contact.name,
                "period_start": period.start_date.isoformat(),
                "period_end": period.end_date.isoformat(),
                "due_date": due.isoformat(),
                "link": link(settings, claim),
                "message": message,
                "days_left": days_left,
            },
            project_id=project.id,
            commitment_id=commitment.id,
            period_id=period.id,
        )
        requests.append(request)
    return requests


def decline_notices(
    session: Session,
    settings: Settings,
    period: BillingPeriod,
    commitment: Commitment,
    contact_email: str,
    reason: str,
) -> list[str]:
    """Tell every admin of the project that a contact declined, and why."""
    project = session.get(Project, period.project_id)
    assert project is not None
    ids = []
    for admin_email in emails_with_role(session, project.id, "admin"):
        row = enqueue(
            session,
            kind="decline_notice",
            dedupe_key=f"decline_notice:{commitment.id}:{period.id}:{admin_email}",
            to_address=admin_email,
            context={
                "terminology": project.terminology,
                "project_name": project.name,
                "vendor_name": commitment.vendor_name,
                "commitment_number": commitment.number,
                "contact_email": contact_email,
                "reason": reason,
                "period_start": period.start_date.isoformat(),
                "period_end": period.end_date.isoformat(),
                "board_link": f"{settings.resolved_public_url}/api/v1/billing-periods/{period.id}",
            },
            project_id=project.id,
            commitment_id=commitment.id,
            period_id=period.id,
        )
        ids.append(row.id)
    return ids
