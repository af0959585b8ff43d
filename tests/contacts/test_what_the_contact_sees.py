"""What the invoice contact's link shows of their commitment: the schedule of values with G703's
"from previous application" and what is still billable, counted before the period's own pay app."""

from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session

from paydraw.contacts import service
from paydraw.contacts.schemas import ContactInvitation
from paydraw.db.tables import Invitation
from paydraw.domain.transitions import Role
from paydraw.invitations.tokens import ContactClaim
from tests.pay_apps.builders import CONTACT, CONTACT_EMAIL, Job, design_job


def accepted(job: Job, period_id: str) -> ContactClaim:
    """The contact's link to `period_id`, whose invite they accepted."""

    def invite(session: Session) -> None:
        session.add(
            Invitation(period_id=period_id, commitment_id=job.commitment_id, status="accepted")
        )

    job.run(invite)
    return ContactClaim(job.commitment_id, period_id, CONTACT_EMAIL)


def framing(job: Job, claim: ContactClaim) -> tuple[str, str]:
    """Framing's previously billed and billable, as the contact's page shows them."""
    invitation: ContactInvitation = job.run(service.invitation_for, claim)
    [line] = [line for line in invitation.sov_lines if line.code == "02"]
    return f"{line.previously_billed:.2f}", f"{line.billable:.2f}"


class TestPreviouslyBilled:
    def test_is_what_applications_before_this_periods_billed(self, engine: Engine) -> None:
        job = design_job(engine)
        first = accepted(job, job.periods[-1])
        one = job.create({"02": "24000"}, role=Role.CONTACT, actor=CONTACT)
        assert framing(job, first) == ("0.00", "60000.00")  # its own draft is not "previous"
        job.certify(one.id)
        assert framing(job, first) == ("0.00", "60000.00")  # nor once it is certified

        second = accepted(job, job.period())
        assert framing(job, second) == ("24000.00", "36000.00")
        two = job.create({"02": "18000"}, role=Role.CONTACT, actor=CONTACT)
        assert framing(job, second) == ("24000.00", "36000.00")  # the draft being changed
        job.submit(two.id, role=Role.CONTACT)
        assert framing(job, second) == ("24000.00", "36000.00")  # under review
        assert job.get(two.id).lines[1].from_previous == Decimal("24000.00")  # as G703's D
        assert framing(job, first) == ("0.00", "60000.00")  # a later one is not previous

    def test_a_void_application_is_not_previous(self, engine: Engine) -> None:
        job = design_job(engine)
        first = accepted(job, job.periods[-1])
        one = job.create({"02": "24000"})
        job.certify(one.id)
        job.void(one.id)
        assert framing(job, first) == ("0.00", "60000.00")
