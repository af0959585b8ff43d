"""The invoice contact's page: the link in the invite email opens it.

The signed token in the address is the contact's whole credential (no password), so the page shows
only the one commitment and period it names, and answers the invite through the same code as the
JSON endpoints. Each form carries a random key of its own as the workflow update id: a double-click
answers once.
"""

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from api.deps import SettingsDep
from api.idempotency import caller_of, request_fingerprint, request_update_id
from api.lien_waiver_files import pdf_response
from api.pages.entries import FIELD_PREFIXES, entry_of
from api.pages.html import templates
from api.reads import in_transaction, reading
from api.steps import DECLINE_REASON_MAX_LENGTH, answer, contact_fill, contact_submit
from paydraw import actors
from paydraw.attachments import service as attachments
from paydraw.attachments.schemas import AttachmentList
from paydraw.attachments.service import Caller, Limits
from paydraw.contacts import service
from paydraw.contacts.schemas import ContactInvitation
from paydraw.domain.contract import OverbillingPolicy
from paydraw.domain.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    LienWaiversMissing,
    NotFound,
    OverBillingError,
)
from paydraw.domain.g702 import Application
from paydraw.domain.terminology import Terminology, words
from paydraw.domain.transitions import PeriodStatus, Role
from paydraw.domain.waivers import WaiverKind
from paydraw.invitations import repository
from paydraw.invitations.tokens import ContactClaim, InvalidToken, verify
from paydraw.pay_apps import service as pay_app_service
from paydraw.pay_apps.notify import PAYMENT_METHOD_WORDS
from paydraw.pay_apps.schemas import PayAppPublic, ProgressLinesEdit
from paydraw.settings import Settings
from paydraw.waivers import service as waivers
from paydraw.waivers.schemas import WaiverSignature

router = APIRouter(prefix="/contact", tags=["pages"], include_in_schema=False)

# The address holds the contact's credential: never cached, never passed on as a Referer, never
# framed (a framed Accept button could be clicked by a page the contact did not mean to trust).
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

FormText = Annotated[str, Form()]

# Why there is nothing to show, and what the contact can do about it.
NOTICES = {
    401: (
        "This link is not valid or has expired",
        "Ask the general contractor for a new one; they can send the invitation again.",
    ),
    404: (
        "This invitation is not available",
        "The link is no longer open to you, for example because the invoice contact changed. "
        "Ask the general contractor for a new one.",
    ),
    503: (
        "Paydraw is busy for a moment",
        "Your answer was not recorded yet. Please go back and try again in a minute.",
    ),
}


@dataclass(frozen=True)
class ContactPage:
    invitation: ContactInvitation
    words: Mapping[str, str]
    decline_reason: str
    currency: str
    pay_app: PayAppPublic | None
    """The period's progress pay app the contact bills (not a void one)."""
    pay_apps: list[PayAppPublic]
    """Every pay app of the period, newest first, as each email about one links here."""
    choices: service.ContactChoices
    may_override: bool
    """The project lets over-billing through with a reason (its `warn` policy)."""
    lien_waivers: list[waivers.ContactWaivers]
    files: AttachmentList | None
    """The backup documents of the pay app the contact bills, once there is one."""


def load_page(session: Session, claim: ContactClaim, limits: Limits) -> ContactPage:
    """Everything the page shows, all within the token's scope (NotFound otherwise)."""
    invitation = service.invitation_for(session, claim)
    _, _, project = service.scope(session, claim)
    row = repository.invitation(session, claim.period_id, claim.commitment_id)
    _, live = service.live_pay_app(session, claim)
    pay_apps = [
        pay_app_service.get(session, Role.CONTACT, pay_app.id)
        for pay_app in service.period_pay_apps(session, claim)
    ]
    pay_app = next((shown for shown in pay_apps if live and shown.id == live.id), None)
    return ContactPage(
        invitation,
        words(Terminology(project.terminology)),
        row.decline_reason if row else "",
        project.currency,
        pay_app,
        pay_apps,
        service.choices(invitation, pay_app.status if pay_app else None),
        OverbillingPolicy(project.overbilling_policy) is OverbillingPolicy.WARN,
        waivers.for_contact_page(session, claim),
        attachments.listing(session, Caller(actors.contact(claim.email), claim), live.id, limits)
        if live
        else None,
    )


@router.get("", response_class=HTMLResponse)
async def show(request: Request, settings: SettingsDep, token: str = "") -> Response:
    """The contact's commitment in this period: what to bill, by when, and their answer."""
    claim = verified(settings, token)
    if claim is None:
        return invalid_link(request)
    return await contact_page(request, claim, token)


@router.post("/accept")
async def accept(
    request: Request, settings: SettingsDep, token: FormText = "", idempotency_key: FormText = ""
) -> Response:
    """Accept the invite to bill, then back to the page."""
    return await answer_from_page(request, settings, token, idempotency_key, accept=True)


@router.post("/decline")
async def decline(
    request: Request,
    settings: SettingsDep,
    token: FormText = "",
    idempotency_key: FormText = "",
    reason: FormText = "",
) -> Response:
    """Decline the invite to bill with a reason, then back to the page."""
    return await answer_from_page(request, settings, token, idempotency_key, False, reason)


async def answer_from_page(
    request: Request,
    settings: Settings,
    token: str,
    idempotency_key: str,
    accept: bool,
    reason: str = "",
) -> Response:
    """Answer like the JSON endpoints; a refusal shows the page again with why, and its status."""
    claim = verified(settings, token)
    if claim is None:
        return invalid_link(request)
    try:
        key = form_update_id(token, request.url.path, idempotency_key)
        await answer(request, claim, accept, key, reason)
    except NotFound:
        return not_in_scope(request)
    except DomainError as refusal:
        return await contact_page(request, claim, token, refusal, reason)
    except HTTPException as failure:
        if failure.status_code != 503:
            raise
        return notice(request, 503)
    return RedirectResponse(f"/contact?{urlencode({'token': token})}", status_code=303)


@router.post("/pay-app")
async def bill(request: Request, settings: SettingsDep) -> Response:
    """Save the pay app's amounts from the page's form (a draft), and submit it when asked; a
    refusal (an amount that is not one, over-billing) shows the page again, the entered amounts
    kept and the reason next to the line."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    token = form.get("token", "")
    claim = verified(settings, token)
    if claim is None:
        return invalid_link(request)
    entered = {
        key: value
        for key, value in form.items()
        if key.startswith(FIELD_PREFIXES) or key in ("mode", "figure", "override_reason")
    }
    entry = entry_of(form)
    try:
        body = ProgressLinesEdit(
            entry=entry, overbilling_override_reason=form.get("override_reason", "")
        )
    except ValidationError as invalid:
        refusal = InvalidInput(*first_problem(invalid, entry))
        return await contact_page(request, claim, token, refusal, entered=entered)
    key = form.get("idempotency_key", "")
    try:
        await contact_fill(request, claim, form_update_id(token, "/contact/pay-app", key), body)
        if form.get("intent") == "submit":
            submit_key = form_update_id(token, "/contact/pay-app/submit", key)
            await contact_submit(request, claim, submit_key)
    except NotFound:
        return not_in_scope(request)
    except DomainError as refusal:
        return await contact_page(request, claim, token, refusal, entered=entered)
    except HTTPException as failure:
        if failure.status_code != 503:
            raise
        return notice(request, 503)
    return RedirectResponse(f"/contact?{urlencode({'token': token})}", status_code=303)


@router.post("/lien-waivers/sign")
async def sign_lien_waiver(request: Request, settings: SettingsDep) -> Response:
    """Sign a drafted lien waiver from the page: the typed name, title and date are the
    signature. A second click signs nothing new; a refusal shows the page again with why."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    token = form.get("token", "")
    claim = verified(settings, token)
    if claim is None:
        return invalid_link(request)
    address = request.client.host if request.client else ""
    try:
        signature = WaiverSignature(
            signer_name=form.get("signer_name", ""),
            signer_title=form.get("signer_title", ""),
            signed_on=form.get("signed_on", ""),
            amount=form.get("amount", ""),
            exceptions=form.get("exceptions", ""),
            consent=form.get("consent") == "yes",
        )
        pay_app_id, kind = form.get("pay_app_id", ""), WaiverKind(form.get("kind", ""))
        await in_transaction(
            request.app.state.engine,
            lambda session: waivers.sign(session, claim, pay_app_id, kind, signature, address),
        )
    except ValueError as invalid:  # a form that does not read as a signature
        field, problem = _signature_problem(invalid)
        refusal = InvalidInput(field, problem)
        return await contact_page(request, claim, token, refusal, signing=form)
    except NotFound:
        return not_in_scope(request)
    except DomainError as refusal:
        return await contact_page(request, claim, token, refusal, signing=form)
    return RedirectResponse(f"/contact?{urlencode({'token': token})}#lien-waivers", 303)


def _signature_problem(invalid: ValueError) -> tuple[str, str]:
    if isinstance(invalid, ValidationError):
        error = invalid.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "signature"
        return field, str(error["msg"]).removeprefix("Value error, ")
    return "kind", "not a kind of lien waiver"


@router.get("/lien-waivers/{waiver_id}.pdf")
async def download_lien_waiver(
    request: Request, waiver_id: str, settings: SettingsDep, token: str = ""
) -> Response:
    """A signed lien waiver of the contact's commitment, as a download."""
    claim = verified(settings, token)
    if claim is None:
        return invalid_link(request)
    try:
        name, pdf = await reading(
            request.app.state.engine,
            lambda session: waivers.pdf_for_contact(session, claim, waiver_id),
        )
    except NotFound:
        return not_in_scope(request)
    return pdf_response(name, pdf)


@router.post("/pay-app/preview", response_class=HTMLResponse)
async def preview(request: Request, settings: SettingsDep) -> Response:
    """The figures the page's form would bill, recomputed by the server as the contact types
    (htmx posts the form here): the same computation as saving it, with nothing saved."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    claim = verified(settings, form.get("token", ""))
    if claim is None:
        return invalid_link(request)
    target = form.get("preview", "")
    context: dict[str, Any] = {
        "preview": None,
        "preview_problem": "",
        "target": target if target in PREVIEWS else PREVIEWS[0],
    }
    entry = entry_of(form)
    try:
        body = ProgressLinesEdit(
            entry=entry, overbilling_override_reason=form.get("override_reason", "")
        )

        def figures(session: Session) -> tuple[Application, str]:
            _, _, project = service.scope(session, claim)
            shown = pay_app_service.preview(session, claim.commitment_id, claim.period_id, body)
            return shown, project.currency

        context["preview"], context["currency"] = await reading(request.app.state.engine, figures)
    except ValidationError as invalid:
        context["preview_problem"] = "Check {}: {}".format(*first_problem(invalid, entry))
    except NotFound:
        return not_in_scope(request)
    except InvalidInput as refusal:
        context["preview_problem"] = refusal.reason
    except DomainError as refusal:
        context["preview_problem"] = refusal.message
    return templates.TemplateResponse(request, "_contact_preview.html", context, headers=HEADERS)


PREVIEWS = ("preview", "preview-percent", "preview-whole", "preview-draws", "preview-lines")
"""Where each way of billing shows its figures (the fragment's ids start with it)."""

LINE_INPUTS = {
    "work_this_period": "work",
    "materials_stored": "stored",
    "percent_complete": "percent",
}
"""The form's input, per line, for each per-line field of an entry."""

WHOLE_INPUTS = {
    "percent": "figure",
    "amount": "figure",
    "draw_ids": "draws",
    "line_ids": "full",
    "sov_line_ids": "full",
}
"""The form's input for each field of an entry that is not a line's."""


def first_problem(invalid: ValidationError, entry: dict[str, Any]) -> tuple[str, str]:
    """The first problem of a form's entry, as the form's input it is about (``work-<line
    id>``, ``percent-<line id>``, ``figure``) and the reason."""
    error = invalid.errors()[0]
    location = [part for part in error["loc"] if part not in ("entry", entry["mode"])]
    reason = str(error["msg"]).removeprefix("Value error, ")
    match location:
        case ["lines", int(index), str(field), *_] if field in LINE_INPUTS:
            return f"{LINE_INPUTS[field]}-{entry['lines'][index]['sov_line_id']}", reason
        case ["lines", *_] if entry["mode"] == "per_line_percent":
            return "percent", "type a percent complete for at least one line"
        case [str(field), *_] if field in WHOLE_INPUTS:
            return WHOLE_INPUTS[field], reason
    return ".".join(str(part) for part in location) or "entry", reason


def field_errors_of(refusal: DomainError | None, line_ids: list[str], mode: str) -> dict[str, str]:
    """The reason of a refusal by the form's input it is about. The service names a line by its
    place in the SOV (``lines[1].work_this_period``); an over-billing names each line over."""
    if not isinstance(refusal, InvalidInput):
        return {}
    if refusal.field in WHOLE_INPUTS:
        return {WHOLE_INPUTS[refusal.field]: refusal.reason}
    match = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", refusal.field)
    if match is None or int(match[1]) >= len(line_ids) or match[2] not in LINE_INPUTS:
        return {refusal.field: refusal.reason}
    if mode == "per_line_percent":
        prefix = "percent"
    elif mode in ("", "per_line_amounts"):
        prefix = LINE_INPUTS[match[2]]
    else:  # one figure, draws or whole lines: the form has no input per line
        return {WHOLE_INPUTS.get(mode, "figure"): refusal.reason}
    if isinstance(refusal, OverBillingError) and refusal.lines:
        lines = {line.line_id for line in refusal.lines}
        return {f"{prefix}-{line_id}": refusal.reason for line_id in line_ids if line_id in lines}
    return {f"{prefix}-{line_ids[int(match[1])]}": refusal.reason}


def form_update_id(token: str, path: str, idempotency_key: str) -> str:
    """The workflow update id of a form post: the form's own random key, which belongs to the
    link it was posted with and the form it came from, like an API caller's key. A post without
    a usable key (not from our form) gets a fresh one."""
    if not 0 < len(idempotency_key) <= 100:
        idempotency_key = secrets.token_urlsafe(16)
    caller = caller_of(token.encode())
    return request_update_id(caller, idempotency_key, request_fingerprint("POST", path, b"", b""))


async def contact_page(
    request: Request,
    claim: ContactClaim,
    token: str,
    refusal: DomainError | None = None,
    reason: str = "",
    entered: dict[str, str] | None = None,
    signing: dict[str, str] | None = None,
) -> Response:
    engine: Engine = request.app.state.engine
    try:
        limits = request.app.state.attachment_limits
        page = await reading(engine, lambda session: load_page(session, claim, limits))
    except NotFound:
        return not_in_scope(request)
    line_ids = [line.id for line in page.invitation.sov_lines]
    entered = amounts_of(page.pay_app) | (entered or {})
    mode = entered.get("mode", "")
    field_errors = field_errors_of(refusal, line_ids, mode)
    context: dict[str, Any] = {
        "invitation": page.invitation,
        "words": page.words,
        "decline_reason": page.decline_reason,
        "currency": page.currency,
        "pay_app": page.pay_app,
        "pay_apps": page.pay_apps,
        "may": page.choices,
        "may_override": page.may_override,
        "token": token,
        # One key per form: an accept and a decline are different answers, never one repeated.
        "accept_key": secrets.token_urlsafe(16),
        "decline_key": secrets.token_urlsafe(16),
        # One key per way of billing: each form is a request of its own.
        "bill_keys": {way: secrets.token_urlsafe(16) for way in WAYS},
        "way_open": way_open(mode, page.pay_app),
        # What was typed, over what the pay app holds (a refused figure keeps the lines).
        "entered": entered,
        "refusal": explain(refusal, page.invitation, field_errors) if refusal else "",
        "field_errors": field_errors,
        "reason": reason,
        "reason_max_length": DECLINE_REASON_MAX_LENGTH,
        "payment_methods": PAYMENT_METHOD_WORDS,
        "lien_waivers": page.lien_waivers,
        "waiver_key": secrets.token_urlsafe(16),
        "today": datetime.now(UTC).date(),
        "signing": signing or {},
        "files": page.files,
        "files_base": "/contact/attachments",
        "files_query": "?" + urlencode({"token": token}),
        "files_hidden": {"token": token},
        "may_attach": page.files is not None and page.files.may_attach,
    }
    status_code = refusal.http_status if refusal else 200
    return templates.TemplateResponse(
        request, "contact.html", context, status_code=status_code, headers=HEADERS
    )


WAYS = ("amounts", "percent", "whole", "draws", "lines")
"""The ways to bill, each a form of its own on the page."""

LINE_PREFIXES = ("work-", "stored-", "percent-")
FIELD_WORDS = {
    "figure": "percent or amount",
    "draws": "draws",
    "full": "lines",
    "percent": "percents",
    "reason": "reason",
}


def way_open(mode: str, pay_app: PayAppPublic | None) -> str:
    """The way of billing shown open: the one just refused, or the one the pay app was billed
    in (per line amounts are always shown)."""
    mode = mode or (pay_app.entry_mode if pay_app else "")
    return {
        "per_line_percent": "percent",
        "contract_percent": "whole",
        "contract_amount": "whole",
        "draws": "draws",
        "lines": "lines",
    }.get(mode, "")


def amounts_of(pay_app: PayAppPublic | None) -> dict[str, str]:
    """The form's amounts as the pay app holds them now (empty before it exists)."""
    if pay_app is None:
        return {}
    amounts = {}
    for line in pay_app.lines:
        amounts[f"work-{line.sov_line_id}"] = f"{line.this_period:.2f}"
        amounts[f"stored-{line.sov_line_id}"] = f"{line.materials_stored:.2f}"
    return amounts


def explain(
    refusal: DomainError, invitation: ContactInvitation, field_errors: Mapping[str, str]
) -> str:
    """The refusal in the contact's words."""
    general_contractor = invitation.general_contractor or "the general contractor"
    if isinstance(refusal, InvalidTransition) and refusal.status == "past_due":
        return (
            "The due date has passed, so this invitation can no longer be accepted. You can still "
            f"decline it, or ask {general_contractor} to extend the due date."
        )
    if isinstance(refusal, LienWaiversMissing):
        waivers_named = ", ".join(
            f"the {waiver.kind.replace('_', ' ')} waiver for pay app #{waiver.pay_app_number}"
            for waiver in refusal.missing
        )
        return f"Sign {waivers_named} below first: {general_contractor} requires it. ({refusal})"
    if isinstance(refusal, InvalidTransition) and refusal.status == PeriodStatus.CLOSED:
        return "This billing period is closed, so its invitation can no longer be answered."
    marked = any(key.startswith(LINE_PREFIXES) for key in field_errors)
    if isinstance(refusal, InvalidInput) and marked:
        return "Please check the amount marked below: " + refusal.reason + "."
    if isinstance(refusal, InvalidInput):
        what = FIELD_WORDS.get(next(iter(field_errors), ""), refusal.field)
        return f"Please check the {what}: {refusal.reason}."
    return refusal.message


def verified(settings: Settings, token: str) -> ContactClaim | None:
    try:
        return verify(settings, token)
    except InvalidToken:
        return None


def invalid_link(request: Request) -> Response:
    return notice(request, 401)


def not_in_scope(request: Request) -> Response:
    return notice(request, 404)


def notice(request: Request, status_code: int) -> Response:
    heading, text = NOTICES[status_code]
    return templates.TemplateResponse(
        request,
        "contact_notice.html",
        {"heading": heading, "text": text},
        status_code=status_code,
        headers=HEADERS,
    )
