"""What an invoice contact may see: one commitment in one period, nothing else."""

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from paydraw.commitments import repository as commitments
from paydraw.commitments.ledger import history_before, load_contract
from paydraw.contacts.schemas import ContactDraw, ContactInvitation, ContactSovLine
from paydraw.db.tables import BillingPeriod, Commitment, PayApp, Project, utcnow
from paydraw.domain.due import past_due
from paydraw.domain.errors import InvalidTransition, NotFound
from paydraw.domain.g702 import LineHistory, billable
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
    contacts and was invited, or was billed for in the period on their behalf (the emails about
    that pay app link here too); a 404 otherwise."""
    commitment = session.get(Commitment, claim.commitment_id)
    period = session.get(BillingPeriod, claim.period_id)
    contacts = repository.invoice_contacts(session, [claim.commitment_id]).get(
        claim.commitment_id, []
    )
    invitation = repository.invitation(session, claim.period_id, claim.commitment_id)
    invited = invitation is not None and invitation.status != InvitationStatus.NOT_INVITED
    if (
        commitment is None
        or period is None
        or commitment.project_id != period.project_id
        or claim.email not in {contact.email for contact in contacts}
        or not (
            invited or pay_app_repository.in_period(session, claim.commitment_id, claim.period_id)
        )
    ):
        raise NotFound("invitation not found")
    project = session.get(Project, period.project_id)
    assert project is not None
    return commitment, period, project


def invitation_for(session: Session, claim: ContactClaim) -> ContactInvitation:
    """The contact's commitment in the period. What was billed before is G703's "from previous
    application": the pay apps numbered before the period's own (or all of them, before it
    exists), so the pay app being filled in, reviewed or paid never counts as its own past."""
    commitment, period, project = scope(session, claim)
    invitation = repository.invitation(session, period.id, commitment.id)
    live = pay_app_repository.live_pay_app(session, commitment.id, period.id, PayAppKind.PROGRESS)
    number = live.number if live else pay_app_repository.next_number(session, commitment.id)
    contract = load_contract(session, commitment)
    history, _ = history_before(session, contract, commitment.id, number)
    lines = []
    for line in contract.lines:
        past = history.get(line.id, LineHistory())
        lines.append(
            ContactSovLine(
                id=line.id,
                code=line.code,
                description=line.description,
                scheduled_value=line.scheduled_value,
                previously_billed=past.work_completed,
                materials_stored=past.materials_stored,
                billable=billable(line.scheduled_value, past.completed_and_stored),
            )
        )
    due_date = due_date_of(period, invitation)
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
        period_closed=period.status != PeriodStatus.OPEN,
        due_date=due_date,
        past_due=past_due(due_date, utcnow()),
        invitation_status=invitation.status if invitation else InvitationStatus.NOT_INVITED,
        overdue=invitation.overdue if invitation else False,
        contract_sum_to_date=contract.contract_sum_to_date,
        previously_billed=sum((line.previously_billed for line in lines), ZERO),
        sov_lines=lines,
        draws=[
            ContactDraw(
                id=draw.id,
                name=draw.name,
                amount=draw.amount,
                billed=draw.billed_by_pay_app_id not in (None, live.id if live else None),
                selected=live is not None and draw.billed_by_pay_app_id == live.id,
            )
            for draw in commitments.draws(session, commitment.id)
        ],
    )


def answerable(session: Session, claim: ContactClaim, accept: bool) -> BillingPeriod:
    """The period of an invite the contact may answer now: within the token's scope (404
    outside it) and open (409 once it closed)."""
    _, period, _ = scope(session, claim)
    if period.status != PeriodStatus.OPEN:
        action = "accept" if accept else "decline"
        raise InvalidTransition(period.status, action, [], subject="an invitation of a period")
    return period


def period_pay_apps(session: Session, claim: ContactClaim) -> list[PayApp]:
    """The pay apps of the contact's commitment in their period, newest first: the one they
    bill, and any other (voided before it, a retainage release) an email may link to."""
    scope(session, claim)
    return pay_app_repository.in_period(session, claim.commitment_id, claim.period_id)


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


@dataclass(frozen=True)
class ContactChoices:
    """What the contact's page offers now: only what would not be refused."""

    answer: bool
    """Decline (and accept, if `accept`): invited, in a period still open."""
    accept: bool
    """Accept too: the due date has not passed."""
    bill: bool
    """Fill in (or change) and submit the period's pay app."""


def choices(invitation: ContactInvitation, pay_app_status: str | None) -> ContactChoices:
    """The contact may answer an invite while the period is open (accept only until the due
    date), and fill in and submit the pay app once they accepted, while the period is open and
    not past its due date, when there is none yet or it is a draft or sent back."""
    answer = (
        invitation.invitation_status == InvitationStatus.INVITED and not invitation.period_closed
    )
    return ContactChoices(
        answer=answer,
        accept=answer and not invitation.past_due,
        bill=(
            invitation.invitation_status == InvitationStatus.ACCEPTED
            and not invitation.period_closed
            and not invitation.past_due
            and (pay_app_status is None or pay_app_status in BILLABLE)
        ),
    )
