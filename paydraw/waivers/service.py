"""Lien waivers: what a pay app needs, the drafts Paydraw writes from it, the contact's
electronic signature, an admin's exemption, the signed PDFs, and the board's markers.

Which waivers a pay app needs is the pay-app area's rule (paydraw.pay_apps.lien_waivers), the
one its submit and payment steps enforce; this area lists, drafts and signs from the same needs.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from paydraw.actors import Actor, contact
from paydraw.audit import record
from paydraw.contacts.service import scope
from paydraw.db.tables import (
    BillingPeriod,
    Commitment,
    LienWaiver,
    LienWaiverExemption,
    PayApp,
    Project,
    utcnow,
)
from paydraw.display import money
from paydraw.documents.pdf import html_of, pdf_of
from paydraw.domain.errors import InvalidInput, InvalidTransition, NotFound
from paydraw.domain.transitions import PayAppStatus, Role
from paydraw.domain.waivers import (
    RETAINAGE_RELEASE,
    WAIVER_TITLES,
    PaidPayApp,
    WaiverKind,
    WaiverNeed,
    WaiverStep,
    waivers_needed,
)
from paydraw.invitations.tokens import ContactClaim
from paydraw.pay_apps import computation, lien_waivers
from paydraw.pay_apps import repository as pay_apps
from paydraw.pay_apps import service as pay_app_service
from paydraw.waivers import repository
from paydraw.waivers.schemas import (
    LienWaiverPublic,
    PayAppLienWaivers,
    WaiverExemptionCreate,
    WaiverRequirement,
    WaiverSignature,
    WaiverState,
)

ADMIN_ONLY = frozenset({Role.ADMIN})
PROGRESS_KINDS = (WaiverKind.CONDITIONAL_PROGRESS, WaiverKind.UNCONDITIONAL_PROGRESS)
STATUTORY_CAVEAT = (
    "Some states (California, Texas and Georgia among them) prescribe statutory forms of lien "
    "waiver, and there only the statutory form is effective. This is a generic form, not a "
    "statutory one: check the law of the state where the project is."
)
SIGN = "sign_lien_waiver"
WAIVE = "waive_lien_waiver"


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


# -- what a pay app needs, and where each need stands ------------------------------------------


def for_staff(session: Session, actor: Actor, pay_app_id: str) -> PayAppLienWaivers:
    """The pay app's waivers for a staff member with any role on its project (404 otherwise)."""
    pay_app_service.locate(session, actor.id, pay_app_id)
    pay_app, _, project = _pay_app(session, pay_app_id)
    return _status(session, project, pay_app)


def for_contact(session: Session, claim: ContactClaim) -> list[PayAppLienWaivers]:
    """The waivers of each live pay app of the contact's commitment in their period."""
    commitment, period, project = scope(session, claim)
    return [
        _status(session, project, pay_app)
        for pay_app in repository.pay_apps_in_period(session, commitment.id, period.id)
    ]


@dataclass(frozen=True)
class ContactWaivers:
    """A pay app's waivers as the contact's page shows them: each one still to sign drafted."""

    waivers: PayAppLienWaivers
    drafts: dict[str, str]
    """The draft of each waiver still to sign, by kind, as HTML to review before signing."""


def for_contact_page(session: Session, claim: ContactClaim) -> list[ContactWaivers]:
    _, _, project = scope(session, claim)
    shown = []
    for waivers in for_contact(session, claim):
        drafts: dict[str, str] = {}
        for item in waivers.requirements:
            if item.state == WaiverState.MISSING and item.signable:
                need = WaiverNeed(
                    item.kind,
                    item.covers_pay_app_id,
                    item.covers_pay_app_number,
                    item.amount,
                    item.required_before,
                )
                context = _draft(session, project, need).context(fragment=True)
                drafts[item.kind] = html_of(_template(item.kind), context)
        shown.append(ContactWaivers(waivers, drafts))
    return shown


def _status(session: Session, project: Project, pay_app: PayApp) -> PayAppLienWaivers:
    needs = lien_waivers.needs(session, project, pay_app, _amount_due(session, pay_app))
    waived = pay_apps.waived_kinds(session, pay_app.id)
    covered = {need.covers_pay_app_id for need in needs} | {pay_app.id}
    signed = repository.signed_for(session, covered)
    requirements = [_requirement(session, project, need, signed, waived) for need in needs]
    return PayAppLienWaivers(
        pay_app_id=pay_app.id,
        pay_app_number=pay_app.number,
        required_kinds=[WaiverKind(kind) for kind in project.required_lien_waivers],
        requirements=requirements,
        missing=[item.kind for item in requirements if item.state == WaiverState.MISSING],
        signed=[_public(waiver) for waiver in signed if waiver.pay_app_id == pay_app.id],
    )


def _requirement(
    session: Session,
    project: Project,
    need: WaiverNeed,
    signed: list[LienWaiver],
    waived: dict[str, LienWaiverExemption],
) -> WaiverRequirement:
    match = next(
        (
            waiver
            for waiver in signed
            if (waiver.pay_app_id, waiver.kind, waiver.amount)
            == (need.covers_pay_app_id, need.kind, need.amount)
        ),
        None,
    )
    exemption = waived.get(need.kind)
    state = (
        WaiverState.SIGNED if match else WaiverState.WAIVED if exemption else WaiverState.MISSING
    )
    covered = session.get(PayApp, need.covers_pay_app_id)
    assert covered is not None
    why_not = "" if match else _why_not_signable(covered, need)
    return WaiverRequirement(
        kind=need.kind,
        title=WAIVER_TITLES[need.kind],
        covers_pay_app_id=need.covers_pay_app_id,
        covers_pay_app_number=need.covers_number,
        amount=need.amount,
        through_date=_through_date(session, covered),
        required_before=need.before,
        state=state,
        signable=match is None and not why_not,
        not_signable_because=why_not,
        signed=_public(match) if match else None,
        waived_reason=exemption.reason if exemption else "",
        waived_by=exemption.waived_by if exemption else "",
    )


def _why_not_signable(covered: PayApp, need: WaiverNeed) -> str:
    """An unconditional final waiver releases a certified amount: not before the certificate."""
    if need.kind == WaiverKind.UNCONDITIONAL_FINAL and covered.certificate is None:
        return "the retainage release is not finalized yet"
    return ""


# -- signing -----------------------------------------------------------------------------------


def sign(
    session: Session,
    claim: ContactClaim,
    pay_app_id: str,
    kind: WaiverKind,
    signature: WaiverSignature,
    client_address: str,
) -> LienWaiverPublic:
    """Sign the drafted waiver: the PDF is printed with the signature, kept, and its SHA-256
    recorded in the audit trail with the signer, the time and the address they signed from.
    Signing again what is already signed with the same signature answers the same waiver."""
    pay_app, project = _contacts_pay_app(session, claim, pay_app_id, lock=True)
    need = _need(session, project, pay_app, kind)
    existing = repository.signed(session, need.covers_pay_app_id, kind, need.amount)
    if existing is not None:
        return _same_signature(existing, signature, pay_app)
    if signature.amount != need.amount:
        raise _refusal(
            pay_app,
            f"the {_words(kind)} waiver is now for {money(need.amount, project.currency)}, not "
            f"{money(signature.amount, project.currency)}: review it again before signing",
        )
    _require_date(signature.signed_on, pay_app)
    covered = session.get(PayApp, need.covers_pay_app_id)
    assert covered is not None
    if why_not := _why_not_signable(covered, need):
        raise _refusal(pay_app, f"the {_words(kind)} waiver cannot be signed yet: {why_not}")
    draft = _draft(session, project, need)
    signer = contact(claim.email)
    signed_at = utcnow()
    pdf = pdf_of(
        _template(kind),
        draft.context(
            name=signature.signer_name,
            title=signature.signer_title,
            signed_on=signature.signed_on,
            signed_at=signed_at,
            signed_by=claim.email,
            client_address=client_address,
            typed_exceptions=signature.exceptions,
        ),
    )
    waiver = LienWaiver(
        pay_app_id=need.covers_pay_app_id,
        commitment_id=pay_app.commitment_id,
        project_id=project.id,
        kind=kind,
        amount=need.amount,
        through_date=draft.through_date,
        claimant=draft.claimant,
        customer=draft.customer,
        job=draft.job,
        exceptions=draft.exceptions(signature.exceptions),
        signer_name=signature.signer_name,
        signer_title=signature.signer_title,
        signed_on=signature.signed_on,
        signed_at=signed_at,
        signed_by=signer.label,
        client_address=client_address,
        sha256=hashlib.sha256(pdf).hexdigest(),
        pdf=pdf,
    )
    if not repository.add_signed(session, waiver):
        raced = repository.signed(session, need.covers_pay_app_id, kind, need.amount)
        assert raced is not None
        return _same_signature(raced, signature, pay_app)
    record(
        session,
        signer,
        entity_type="pay_app",
        entity_id=need.covers_pay_app_id,
        action=SIGN,
        project_id=project.id,
        reason=f"{WAIVER_TITLES[kind]}, {money(need.amount, project.currency)}",
        detail={
            "lien_waiver_id": waiver.id,
            "kind": kind,
            "amount": f"{need.amount:.2f}",
            "through_date": draft.through_date.isoformat(),
            "for_pay_app_id": pay_app.id,
            "signer_name": signature.signer_name,
            "signer_title": signature.signer_title,
            "signed_on": signature.signed_on.isoformat(),
            "signed_at": signed_at.isoformat(),
            "client_address": client_address,
            "sha256": waiver.sha256,
        },
    )
    return _public(waiver)


def _same_signature(
    existing: LienWaiver, signature: WaiverSignature, pay_app: PayApp
) -> LienWaiverPublic:
    """A second signing (a double click, a retry) with the same signature is the first one."""
    same = (existing.signer_name, existing.signer_title, existing.signed_on) == (
        signature.signer_name,
        signature.signer_title,
        signature.signed_on,
    )
    if not same:
        raise _refusal(
            pay_app,
            f"the {_words(existing.kind)} waiver was already signed by {existing.signer_name} "
            f"on {existing.signed_on.isoformat()}",
        )
    return _public(existing)


def _require_date(signed_on: date, pay_app: PayApp) -> None:
    """The date beside the signature is the day of signing, wherever the signer is."""
    today = datetime.now(UTC).date()
    if not today - timedelta(days=1) <= signed_on <= today + timedelta(days=1):
        raise InvalidInput("signed_on", f"must be today's date ({today.isoformat()})")


# -- an admin's exemption ----------------------------------------------------------------------


def waive(
    session: Session,
    actor: Actor,
    pay_app_id: str,
    kind: WaiverKind,
    request: WaiverExemptionCreate,
) -> PayAppLienWaivers:
    """An admin waives one required waiver for this pay app, with a reason (audited, in its
    history). Waiving it again changes nothing."""
    pay_app_service.locate(session, actor.id, pay_app_id, ADMIN_ONLY, "waive a lien waiver")
    pay_app, _, project = _pay_app(session, pay_app_id, lock=True)
    need = _need(session, project, pay_app, kind, WAIVE)
    if repository.exemption(session, pay_app.id, kind) is None:
        session.add(
            LienWaiverExemption(
                pay_app_id=pay_app.id,
                project_id=project.id,
                kind=kind,
                reason=request.reason,
                waived_by=actor.label,
            )
        )
        record(
            session,
            actor,
            entity_type="pay_app",
            entity_id=pay_app.id,
            action=WAIVE,
            project_id=project.id,
            reason=request.reason,
            detail={
                "kind": kind,
                "covers_pay_app_id": need.covers_pay_app_id,
                "amount": f"{need.amount:.2f}",
            },
        )
        session.flush()
    return _status(session, project, pay_app)


# -- the signed PDF ----------------------------------------------------------------------------


def pdf_for_staff(session: Session, actor: Actor, waiver_id: str) -> tuple[str, bytes]:
    """The signed PDF for a staff member with a role on its project; 404 for anyone else."""
    waiver = session.get(LienWaiver, waiver_id)
    if waiver is None:
        raise NotFound(f"lien waiver {waiver_id} not found")
    try:
        pay_app_service.locate(session, actor.id, waiver.pay_app_id)
    except NotFound:
        raise NotFound(f"lien waiver {waiver_id} not found") from None
    return _file_name(waiver), waiver.pdf


def pdf_for_contact(session: Session, claim: ContactClaim, waiver_id: str) -> tuple[str, bytes]:
    """The signed PDF for an invoice contact of its commitment; 404 for anyone else."""
    commitment, _, _ = scope(session, claim)
    waiver = session.get(LienWaiver, waiver_id)
    if waiver is None or waiver.commitment_id != commitment.id:
        raise NotFound(f"lien waiver {waiver_id} not found")
    return _file_name(waiver), waiver.pdf


def _file_name(waiver: LienWaiver) -> str:
    return f"lien-waiver-{waiver.kind.replace('_', '-')}-{waiver.id}.pdf"


# -- the board ---------------------------------------------------------------------------------


def missing_on_board(session: Session, project_id: str, period_id: str) -> dict[str, list[str]]:
    """The waivers each commitment's pay app in the period still lacks for its next step, by
    commitment, from one query (none when the project requires none). A conditional waiver is
    taken as signed here when one is signed for the pay app at all: a draft's amount is priced
    only when it is opened or submitted, where a waiver for other amounts is refused."""
    project = session.get(Project, project_id)
    required = project.required_lien_waivers if project else []
    if project is None or not required:
        return {}
    open_pay_apps, paid, signed_amounts, signed_kinds, waived = [], [], set(), set(), set()
    for tag, commitment_id, pay_app_id, number, kind, status, amount in repository.board_facts(
        session, project.id, period_id
    ):
        if tag == "open":
            open_pay_apps.append((commitment_id, pay_app_id, number, kind, status, amount))
        elif tag == "paid":
            paid.append((commitment_id, number, pay_app_id, amount))
        elif tag == "signed":
            signed_amounts.add((pay_app_id, kind, amount))
            signed_kinds.add((pay_app_id, kind))
        else:
            waived.add((pay_app_id, kind))
    missing: dict[str, list[str]] = {}
    for commitment_id, pay_app_id, number, kind, status, amount_due in open_pay_apps:
        before_submit = status in (PayAppStatus.DRAFT, PayAppStatus.REVISE_AND_RESUBMIT)
        earlier = [row for row in paid if row[0] == commitment_id and row[1] < number]
        previous = max(earlier, key=lambda row: row[1]) if earlier else None
        needs = waivers_needed(
            required,
            pay_app_id=pay_app_id,
            number=number,
            kind=kind,
            amount_due=amount_due,
            previous_paid=_paid(previous),
        )
        for need in needs:
            if need.before == WaiverStep.SUBMIT and not before_submit:
                continue  # submitted: its conditional waiver was settled then
            met = (pay_app_id, need.kind) in waived or (
                (need.covers_pay_app_id, need.kind) in signed_kinds
                if need.before == WaiverStep.SUBMIT
                else (need.covers_pay_app_id, need.kind, need.amount) in signed_amounts
            )
            if not met:
                missing.setdefault(commitment_id, []).append(need.kind)
    return missing


def _paid(row: tuple[str, int, str, Decimal] | None) -> PaidPayApp | None:
    return PaidPayApp(row[2], row[1], row[3]) if row else None


# -- what the steps above share ----------------------------------------------------------------


def _pay_app(
    session: Session, pay_app_id: str, *, lock: bool = False
) -> tuple[PayApp, Commitment, Project]:
    """The pay app with its commitment and project; with `lock`, the commitment locked first,
    as every pay-app step locks it, so a signing and a submission never cross."""
    if lock:
        found = pay_apps.lock_commitment_of(session, pay_app_id)
        pay_app = pay_apps.fresh(session, pay_app_id) if found else None
    else:
        pay_app = session.get(PayApp, pay_app_id)
        commitment = session.get(Commitment, pay_app.commitment_id) if pay_app else None
        project = session.get(Project, commitment.project_id) if commitment else None
        found = (commitment, project) if commitment and project else None
    if found is None or pay_app is None:
        raise NotFound(f"pay app {pay_app_id} not found")
    commitment, project = found
    return pay_app, commitment, project


def _contacts_pay_app(
    session: Session, claim: ContactClaim, pay_app_id: str, *, lock: bool = False
) -> tuple[PayApp, Project]:
    """A pay app of the contact's commitment in their period; 404 for any other."""
    scope(session, claim)
    not_found = NotFound(f"pay app {pay_app_id} not found")
    try:
        pay_app, _, project = _pay_app(session, pay_app_id, lock=lock)
    except NotFound:
        raise not_found from None
    if (
        pay_app.commitment_id != claim.commitment_id
        or pay_app.period_id != claim.period_id
        or pay_app.status == PayAppStatus.VOID
    ):
        raise not_found
    return pay_app, project


def _amount_due(session: Session, pay_app: PayApp) -> Decimal:
    """Line 8: frozen on the certificate, else priced as the pay app stands."""
    if pay_app.certificate is not None:
        return pay_app.current_payment_due
    commitment = session.get(Commitment, pay_app.commitment_id)
    assert commitment is not None
    return computation.priced(session, commitment, pay_app).app.summary.current_payment_due


def _need(
    session: Session, project: Project, pay_app: PayApp, kind: WaiverKind, action: str = SIGN
) -> WaiverNeed:
    """The need of `kind` the project has of the pay app; 409 if it requires none."""
    needs = lien_waivers.needs(session, project, pay_app, _amount_due(session, pay_app))
    need = next((need for need in needs if need.kind == kind), None)
    if need is None:
        raise _refusal(
            pay_app,
            f"the project requires no {_words(kind)} waiver for pay app #{pay_app.number}",
            action,
        )
    return need


def _draft(session: Session, project: Project, need: WaiverNeed) -> Draft:
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
        through_date=_through_date(session, covered),
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


def _through_date(session: Session, pay_app: PayApp) -> date:
    """The end of the pay app's billing period (the day it was created, without one)."""
    period = session.get(BillingPeriod, pay_app.period_id) if pay_app.period_id else None
    return period.end_date if period else pay_app.created_at.date()


def _template(kind: WaiverKind) -> str:
    return f"waiver_{kind}.html"


def _words(kind: str) -> str:
    return kind.replace("_", " ")


def _refusal(pay_app: PayApp, message: str, action: str = SIGN) -> InvalidTransition:
    return InvalidTransition(pay_app.status, action, [], subject="a lien waiver", message=message)


def _public(waiver: LienWaiver) -> LienWaiverPublic:
    return LienWaiverPublic(
        id=waiver.id,
        pay_app_id=waiver.pay_app_id,
        kind=WaiverKind(waiver.kind),
        title=WAIVER_TITLES[WaiverKind(waiver.kind)],
        amount=waiver.amount,
        through_date=waiver.through_date,
        claimant=waiver.claimant,
        customer=waiver.customer,
        job=waiver.job,
        exceptions=waiver.exceptions,
        signer_name=waiver.signer_name,
        signer_title=waiver.signer_title,
        signed_on=waiver.signed_on,
        signed_at=waiver.signed_at,
        signed_by=waiver.signed_by,
        sha256=waiver.sha256,
    )
