"""What an invoice contact may see: one commitment in one period, nothing else."""

from decimal import Decimal

from sqlmodel import Session

from paydraw.billing.ledger import build_ledger
from paydraw.contacts.tokens import ContactClaim
from paydraw.db.tables import BillingPeriod, Commitment, Project
from paydraw.domain.errors import NotFound
from paydraw.domain.g702 import LineHistory
from paydraw.domain.transitions import InvitationStatus
from paydraw.periods import repository
from paydraw.periods.schemas import ContactInvitation, ContactSovLine
from paydraw.periods.service import due_date_of

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
