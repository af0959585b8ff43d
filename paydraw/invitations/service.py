"""Invitations: who may be invited to bill in a period, and an invitation's states as the billing
workflow moves it (invited, accepted or declined, overdue, its due date extended), each with its
audit event and its emails queued in the caller's transaction.

The functions the workflow's activities call are idempotent, because Temporal may run an activity
again after a crash: a repeat changes nothing and finds the emails it queued the first time.
"""

from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from emails.outbox import EmailRequest, enqueue, enqueue_all, enqueue_request
from paydraw.actors import SYSTEM, Actor
from paydraw.audit import record
from paydraw.commitments import repository as commitments
from paydraw.db.tables import BillingPeriod, Commitment, Contact, EmailOutbox, Invitation, Project
from paydraw.domain.transitions import InvitationStatus, Role, SovStatus
from paydraw.invitations import repository
from paydraw.invitations.schemas import InviteRefusal
from paydraw.invitations.tokens import ContactClaim, link
from paydraw.projects.repository import emails_with_role
from paydraw.settings import Settings

ALREADY_INVITED = "already invited"


def invited_before(refused: list[InviteRefusal]) -> bool:
    """Whether any of these refusals is of a commitment invited before: by another request, or
    by the request these are the checks of, if it is a resend."""
    return any(refusal.reason.startswith(ALREADY_INVITED) for refusal in refused)


def eligible_for_invite(
    session: Session, project: Project, period: BillingPeriod, commitment_ids: list[str]
) -> tuple[list[str], list[InviteRefusal]]:
    """Split the asked commitments into those that can be invited and those refused, with why."""
    asked = list(dict.fromkeys(commitment_ids))
    found = {c.id: c for c in commitments.of_project(session, project.id, asked)}
    known = [cid for cid in asked if cid in found]
    contacts = repository.invoice_contacts(session, known)
    sums = repository.contract_sums(session, known)
    billed = repository.work_billed(session, known)
    invitations = repository.invitations(session, period.id, known)
    eligible: list[str] = []
    refused: list[InviteRefusal] = []
    for commitment_id in asked:
        commitment = found.get(commitment_id)
        invitation = invitations.get(commitment_id)
        if commitment is None:
            reason = "no such commitment on this project"
        elif not contacts.get(commitment_id):
            reason = "no invoice contact"
        elif commitment.sov_status != SovStatus.APPROVED:
            reason = "schedule of values not approved"
        elif sums.get(commitment_id, 0) > 0 and billed.get(commitment_id, 0) >= sums[commitment_id]:
            reason = "already fully billed"
        elif invitation is not None and invitation.status != InvitationStatus.NOT_INVITED:
            reason = f"{ALREADY_INVITED} ({invitation.status})"
        else:
            eligible.append(commitment_id)
            continue
        refused.append(InviteRefusal(commitment_id=commitment_id, reason=reason))
    return eligible, refused


def due_date_of(period: BillingPeriod, invitation: Invitation | None) -> date:
    if invitation is not None and invitation.due_date_extended_to is not None:
        return invitation.due_date_extended_to
    return period.due_date


def record_invites(
    session: Session,
    settings: Settings,
    period_id: str,
    commitment_ids: list[str],
    *,
    actor: Actor,
    message: str,
    at: datetime,
) -> list[str]:
    """Mark these commitments' invitations sent, each with its audit event, and queue the invite
    email for every invoice contact, in the caller's one transaction; returns the outbox ids.
    A commitment already marked changes nothing, and its emails are found, not queued again."""
    period = session.get(BillingPeriod, period_id)
    assert period is not None
    found = {c.id: c for c in commitments.of_project(session, period.project_id, commitment_ids)}
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
            found[commitment_id],
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
    actor: Actor,
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
    return decline_notices(session, settings, period, commitment, actor.email, reason)


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
    session: Session, period_id: str, commitment_id: str, due_date: date, actor: Actor
) -> None:
    """Give one commitment a later due date (audited); it is no longer overdue."""
    period = session.get(BillingPeriod, period_id)
    assert period is not None
    invitation = invitation_row(session, period.id, commitment_id)
    if invitation.due_date_extended_to == due_date:
        return
    record(
        session,
        actor,
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


def record_status(
    session: Session,
    invitation: Invitation,
    project_id: str,
    to_status: str,
    actor: Actor,
    at: datetime,
    action: str,
    reason: str = "",
) -> bool:
    """Move the invitation to ``to_status`` with its audit event; False if it already was there."""
    if invitation.status == to_status:
        return False
    record(
        session,
        actor,
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
    for admin_email in emails_with_role(session, project.id, Role.ADMIN):
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
                "board_link": f"{settings.resolved_public_url}/billing-periods/{period.id}",
            },
            project_id=project.id,
            commitment_id=commitment.id,
            period_id=period.id,
        )
        ids.append(row.id)
    return ids


def remind(
    session: Session,
    settings: Settings,
    period_id: str,
    commitment_id: str,
    *,
    message: str,
    days_left: int,
    due_date: date,
) -> list[str]:
    """Queue the reminder to each invoice contact, ``days_left`` before ``due_date``; the outbox
    ids (a repeat finds the ones queued before)."""
    period = session.get(BillingPeriod, period_id)
    commitment = session.get(Commitment, commitment_id)
    assert period is not None and commitment is not None
    return invitation_emails(
        session,
        settings,
        period,
        commitment,
        "reminder",
        message=message,
        days_left=days_left,
        due_date=due_date,
    )


def note_email_failure(session: Session, outbox_id: str, error: str) -> None:
    """Show an invitation's email that the mail server refused for good on its board row."""
    row = session.get(EmailOutbox, outbox_id)
    if row is None or row.period_id is None or row.commitment_id is None:
        return
    invitation = invitation_row(session, row.period_id, row.commitment_id)
    invitation.email_failure = f"{row.to_address}: {error}"
    session.add(invitation)
