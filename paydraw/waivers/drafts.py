"""The waivers Paydraw drafts from a pay app, one template per kind
(``paydraw/documents/templates/waiver_<kind>.html``), printed as the contact reviews them and,
with their signature, as the PDF that is kept."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from paydraw.db.tables import BillingPeriod, Commitment, PayApp, Project
from paydraw.display import money
from paydraw.domain.waivers import RETAINAGE_RELEASE, WAIVER_TITLES, WaiverKind, WaiverNeed
from paydraw.pay_apps import computation

PROGRESS_KINDS = (WaiverKind.CONDITIONAL_PROGRESS, WaiverKind.UNCONDITIONAL_PROGRESS)
STATUTORY_CAVEAT = (
    "Some states (California, Texas and Georgia among them) prescribe statutory forms of lien "
    "waiver, and there only the statutory form is effective. This is a generic form, not a "
    "statutory one: check the law of the state where the project is."
)


@dataclass(frozen=True)
class Draft:
    """A waiver as Paydraw drafts it from the pay app it covers, before anyone signs it."""

    need: WaiverNeed
    title: str
    claimant: str
    customer: str
    owner: str
    job: str
    commitment_number: str
    through_date: date
    retainage_held: Decimal | None
    currency: str

    def exceptions(self, typed: str = "") -> str:
        """What the waiver does not release: retainage held on a progress waiver, and the
        disputed claims the signer names."""
        held = ""
        if self.retainage_held is not None:
            held = f"Retainage held to date, {money(self.retainage_held, self.currency)}. "
        return held + (f"Disputed claims: {typed.strip()}" if typed.strip() else "")

    def context(self, fragment: bool = False, **signed: object) -> dict[str, object]:
        """What the template prints; a `fragment` is the document without its page, to show
        inside the contact's page."""
        return {
            "fragment": fragment,
            "draft": self,
            "kind": self.need.kind,
            "amount": self.need.amount,
            "currency": self.currency,
            "caveat": STATUTORY_CAVEAT,
            "exceptions": self.exceptions(str(signed.pop("typed_exceptions", ""))),
            "signature": signed or None,
        }


def draft(session: Session, project: Project, need: WaiverNeed) -> Draft:
    covered = session.get(PayApp, need.covers_pay_app_id)
    commitment = session.get(Commitment, covered.commitment_id) if covered else None
    assert covered is not None and commitment is not None
    job = f"{project.name} (project {project.number})" if project.number else project.name
    return Draft(
        need=need,
        title=WAIVER_TITLES[need.kind],
        claimant=commitment.vendor_name,
        customer=project.general_contractor or f"the general contractor of {project.name}",
        owner=project.owner,
        job=job,
        commitment_number=commitment.number,
        through_date=through_date(session, covered),
        retainage_held=_retainage_held(session, commitment, covered, need.kind),
        currency=project.currency,
    )


def _retainage_held(
    session: Session, commitment: Commitment, covered: PayApp, kind: WaiverKind
) -> Decimal | None:
    """Line 5 of the pay app a progress waiver covers: retainage it does not release."""
    if kind not in PROGRESS_KINDS or covered.kind == RETAINAGE_RELEASE:
        return None
    if covered.certificate is not None:
        return Decimal(covered.certificate["total_retainage"])
    return computation.priced(session, commitment, covered).app.summary.total_retainage


def through_date(session: Session, pay_app: PayApp) -> date:
    """The end of the pay app's billing period (the day it was created, without one)."""
    period = session.get(BillingPeriod, pay_app.period_id) if pay_app.period_id else None
    return period.end_date if period else pay_app.created_at.date()


def template_of(kind: WaiverKind) -> str:
    return f"waiver_{kind}.html"
