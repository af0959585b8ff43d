"""Lien waivers: what a pay app needs and where each need stands, the contact's electronic
signature of the drafts Paydraw writes (drafts.py), an admin's exemption, and the signed PDFs.
The board's marker is board.py.

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
from paydraw.domain.waivers import WAIVER_TITLES, WaiverKind, WaiverNeed
from paydraw.invitations.tokens import ContactClaim
from paydraw.pay_apps import computation, lien_waivers
from paydraw.pay_apps import repository as pay_apps
from paydraw.pay_apps import service as pay_app_service
from paydraw.waivers import drafts, repository
from paydraw.waivers.schemas import (
    LienWaiverPublic,
    PayAppLienWaivers,
    WaiverExemptionCreate,
    WaiverRequirement,
    WaiverSignature,
    WaiverState,
)

ADMIN_ONLY = frozenset({Role.ADMIN})
SIGN = "sign_lien_waiver"
WAIVE = "waive_lien_waiver"


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
        to_sign: dict[str, str] = {}
        for item in waivers.requirements:
            if item.state == WaiverState.MISSING and item.signable:
                need = WaiverNeed(
                    item.kind,
                    item.covers_pay_app_id,
                    item.covers_pay_app_number,
                    item.amount,
                    item.required_before,
                )
                context = drafts.draft(session, project, need).context(fragment=True)
                to_sign[item.kind] = html_of(drafts.template_of(item.kind), context)
        shown.append(ContactWaivers(waivers, to_sign))
    return shown


def _status(session: Session, project: Project, pay_app: PayApp) -> PayAppLienWaivers:
    needs = _needs(session, project, pay_app)
    waived = pay_apps.waived_kinds(session, pay_app.id) if needs else {}
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
        through_date=drafts.through_date(session, covered),
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
    draft = drafts.draft(session, project, need)
    signer = contact(claim.email)
    signed_at = utcnow()
    pdf = pdf_of(
        drafts.template_of(kind),
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


def _needs(session: Session, project: Project, pay_app: PayApp) -> list[WaiverNeed]:
    """What the project requires of the pay app; it is priced only when the project requires
    a waiver at all, so a page of a project that requires none costs nothing more."""
    if not project.required_lien_waivers:
        return []
    return lien_waivers.needs(session, project, pay_app, _amount_due(session, pay_app))


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
    need = next((need for need in _needs(session, project, pay_app) if need.kind == kind), None)
    if need is None:
        raise _refusal(
            pay_app,
            f"the project requires no {_words(kind)} waiver for pay app #{pay_app.number}",
            action,
        )
    return need


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
