"""What an invoice contact may see: one commitment in one period, nothing else."""

from decimal import Decimal

from sqlmodel import Session

from paydraw.commitments.ledger import build_ledger
from paydraw.contacts.schemas import ContactInvitation, ContactSovLine
from paydraw.db.tables import BillingPeriod, Commitment, PayApp, Project
from paydraw.domain.errors import InvalidTransition, NotFound
from paydraw.domain.g702 import LineHistory
from paydraw.domain.transitions import InvitationStatus, PayAppStatus, PeriodStatus
from paydraw.invitations import repository
from paydraw.invitations.service import due_date_of
from paydraw.invitations.tokens import ContactClaim
from paydraw.pay_apps import repository as pay_app_repository
from paydraw.pay_apps.repository import ContactPayApp
from paydraw.pay_apps.schemas import PayAppKind

ZERO = Decimal("0.00")


def scope(session: Session, claim: ContactClaim) -> tuple[Commitment, BillingPeriod, Project]:
    """The commitment and period of the token, while the contact is still one of its invoice
    contacts and was invited; a 404 otherwise."""
    commitment = session.get(Commitment, claim.commitment_id)
    period = session.get(BillingPeriod, claim.period_id)
    contacts = repository.invoice_contacts(session, [claim.commitment_id]).get(
        claim.commitment_id, []
    )
    invitation = repository.invitation(session, claim.period_id, claim.commitment_id)
    if (
        commitment is None
        or period is None
        or commitment.project_id != period.project_id
        or claim.email not in {contact.email for contact in contacts}
        or invitation is None
        or invitation.status == InvitationStatus.NOT_INVITED
    ):
        raise NotFound("invitation not found")
    project = session.get(Project, period.project_id)
    assert project is not None
    return commitment, period, project


def invitation_for(session: Session, claim: ContactClaim) -> ContactInvitation:
    commitment, period, project = scope(session, claim)
    invitation = repository.invitation(session, period.id, commitment.id)
    assert invitation is not None
    ledger = build_ledger(session, commitment)
    lines = []
    for line in ledger.contract.lines:
        history = ledger.history.get(line.id, LineHistory())
        billed = history.work_completed + history.materials_stored
        lines.append(
            ContactSovLine(
                id=line.id,
                code=line.code,
                description=line.description,
                scheduled_value=line.scheduled_value,
                previously_billed=history.work_completed,
                materials_stored=history.materials_stored,
                billable=max(line.scheduled_value - billed, ZERO),
            )
        )
    return ContactInvitation(
        project_name=project.name,
        general_contractor=project.general_contractor,
        commitment_id=commitment.id,
        commitment_number=commitment.number,
        commitment_title=commitment.title,
        vendor_name=commitment.vendor_name,
        period_id=period.id,
        period_start=period.start_date,
        period_end=period.end_date,
        due_date=due_date_of(period, invitation),
        invitation_status=invitation.status,
        overdue=invitation.overdue,
        contract_sum_to_date=ledger.contract.contract_sum_to_date,
        previously_billed=sum((line.previously_billed for line in lines), ZERO),
        sov_lines=lines,
    )


def answerable(session: Session, claim: ContactClaim, accept: bool) -> BillingPeriod:
    """The period of an invite the contact may answer now: within the token's scope (404
    outside it) and open (409 once it closed)."""
    _, period, _ = scope(session, claim)
    if period.status != PeriodStatus.OPEN:
        action = "accept" if accept else "decline"
        raise InvalidTransition(period.status, action, [], subject="an invitation of a period")
    return period


def live_pay_app(session: Session, claim: ContactClaim) -> tuple[BillingPeriod, PayApp | None]:
    """The contact's period, and its progress pay app if any (a void one does not count)."""
    _, period, _ = scope(session, claim)
    pay_app = pay_app_repository.live_pay_app(
        session, claim.commitment_id, claim.period_id, PayAppKind.PROGRESS
    )
    return period, pay_app


def pay_app_to_change(session: Session, claim: ContactClaim, action: str) -> ContactPayApp:
    """The period and live pay app a contact's change acts on, read in one query within the
    token's scope (404 outside it); none in a closed period is a 409, since a closed period
    takes no new pay app (one already submitted there still goes on)."""
    found = pay_app_repository.for_contact(
        session, claim.commitment_id, claim.period_id, claim.email, PayAppKind.PROGRESS
    )
    if found is None:
        raise NotFound("invitation not found")
    if found.pay_app_id is None and found.period_status == PeriodStatus.CLOSED:
        raise InvalidTransition(
            PeriodStatus.CLOSED,
            action,
            [],
            message="the billing period is closed; it takes no new pay app",
        )
    return found


BILLABLE = frozenset({PayAppStatus.DRAFT, PayAppStatus.REVISE_AND_RESUBMIT})


def may_bill(invitation: ContactInvitation, pay_app_status: str | None) -> bool:
    """Whether the contact can fill in (or change) and submit the period's pay app now: they
    accepted, the due date has not passed, and there is none yet or it is a draft or sent back."""
    return (
        invitation.invitation_status == InvitationStatus.ACCEPTED
        and not invitation.overdue
        and (pay_app_status is None or pay_app_status in BILLABLE)
    )
