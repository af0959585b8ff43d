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
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from api.deps import SettingsDep
from api.downloads import g702_download
from api.idempotency import caller_of, request_fingerprint, request_update_id
from api.pages.entries import WHOLE_CONTRACT, entry_of
from api.pages.html import templates
from api.reads import reading
from api.steps import DECLINE_REASON_MAX_LENGTH, answer, contact_fill, contact_submit
from paydraw.contacts import service
from paydraw.contacts.schemas import ContactInvitation
from paydraw.domain.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from paydraw.domain.g702 import Application
from paydraw.domain.terminology import Terminology, words
from paydraw.domain.transitions import PeriodStatus, Role
from paydraw.invitations import repository
from paydraw.invitations.tokens import ContactClaim, InvalidToken, verify
from paydraw.pay_apps import service as pay_app_service
from paydraw.pay_apps.schemas import PayAppPublic, ProgressLinesEdit
from paydraw.settings import Settings

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
    may_bill: bool


def load_page(session: Session, claim: ContactClaim) -> ContactPage:
    """Everything the page shows, all within the token's scope (NotFound otherwise)."""
    invitation = service.invitation_for(session, claim)
    _, _, project = service.scope(session, claim)
    row = repository.invitation(session, claim.period_id, claim.commitment_id)
    assert row is not None
    _, live = service.live_pay_app(session, claim)
    pay_app = pay_app_service.get(session, Role.CONTACT, live.id) if live else None
    return ContactPage(
        invitation,
        words(Terminology(project.terminology)),
        row.decline_reason,
        project.currency,
        pay_app,
        service.may_bill(invitation, pay_app.status if pay_app else None),
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
        if key.startswith(("work-", "stored-")) or key in ("mode", "figure")
    }
    try:
        body = ProgressLinesEdit(entry=entry_of(form))
    except ValidationError as invalid:
        refusal = InvalidInput(*first_problem(invalid))
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


@router.get("/pay-app/g702.pdf")
async def g702_pdf(request: Request, settings: SettingsDep, token: str = "") -> Response:
    """The contact's G702/G703 download, as the API's: their own pay app only."""
    claim = verified(settings, token)
    if claim is None:
        return invalid_link(request)
    engine: Engine = request.app.state.engine

    def own_pay_app(session: Session) -> str:
        _, pay_app = service.live_pay_app(session, claim)
        if pay_app is None:
            raise NotFound("no pay app yet")
        return pay_app.id

    try:
        pay_app_id = await reading(engine, own_pay_app)
        response = await g702_download(engine, pay_app_id, lambda session: None)
    except NotFound:
        return not_in_scope(request)
    response.headers.update({"Referrer-Policy": "no-referrer"})
    return response


@router.post("/pay-app/preview", response_class=HTMLResponse)
async def preview(request: Request, settings: SettingsDep) -> Response:
    """The figures the page's form would bill, recomputed by the server as the contact types
    (htmx posts the form here): the same computation as saving it, with nothing saved."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    claim = verified(settings, form.get("token", ""))
    if claim is None:
        return invalid_link(request)
    context: dict[str, Any] = {"preview": None, "preview_problem": ""}
    try:
        body = ProgressLinesEdit(entry=entry_of(form))

        def figures(session: Session) -> tuple[Application, str]:
            _, _, project = service.scope(session, claim)
            shown = pay_app_service.preview(session, claim.commitment_id, claim.period_id, body)
            return shown, project.currency

        context["preview"], context["currency"] = await reading(request.app.state.engine, figures)
    except ValidationError as invalid:
        context["preview_problem"] = "Check {}: {}".format(*first_problem(invalid))
    except NotFound:
        return not_in_scope(request)
    except DomainError as refusal:
        context["preview_problem"] = refusal.message
    return templates.TemplateResponse(request, "_contact_preview.html", context, headers=HEADERS)


def first_problem(invalid: ValidationError) -> tuple[str, str]:
    """The first problem of a form's amounts, as the field (``lines[1].work_this_period``)
    and the reason."""
    error = invalid.errors()[0]
    location = [part for part in error["loc"] if part not in ("entry", "per_line_amounts")]
    if location and location[0] in WHOLE_CONTRACT:
        return "figure", str(error["msg"]).removeprefix("Value error, ")
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
    return field.lstrip("."), str(error["msg"]).removeprefix("Value error, ")


def line_field_errors(refusal: DomainError | None, line_ids: list[str]) -> dict[str, str]:
    """A refusal that names a line's amount (``lines[1].work_this_period``), by its input's
    name on the form (``work-<line id>``)."""
    if not isinstance(refusal, InvalidInput):
        return {}
    match = re.fullmatch(r"lines\[(\d+)\]\.(work_this_period|materials_stored)", refusal.field)
    if match is None or int(match[1]) >= len(line_ids):
        return {}
    prefix = "work" if match[2] == "work_this_period" else "stored"
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
) -> Response:
    engine: Engine = request.app.state.engine
    try:
        page = await reading(engine, lambda session: load_page(session, claim))
    except NotFound:
        return not_in_scope(request)
    field_errors: dict[str, str] = {}
    if isinstance(refusal, InvalidInput):
        field_errors[refusal.field] = refusal.reason
    line_ids = [line.id for line in page.invitation.sov_lines]
    field_errors |= line_field_errors(refusal, line_ids)
    context: dict[str, Any] = {
        "invitation": page.invitation,
        "words": page.words,
        "decline_reason": page.decline_reason,
        "currency": page.currency,
        "pay_app": page.pay_app,
        "may_bill": page.may_bill,
        "token": token,
        # One key per form: an accept and a decline are different answers, never one repeated.
        "accept_key": secrets.token_urlsafe(16),
        "decline_key": secrets.token_urlsafe(16),
        "bill_key": secrets.token_urlsafe(16),
        "whole_key": secrets.token_urlsafe(16),
        # What was typed, over what the pay app holds (a refused figure keeps the lines).
        "entered": amounts_of(page.pay_app) | (entered or {}),
        "refusal": explain(refusal, page.invitation) if refusal else "",
        "field_errors": field_errors,
        "reason": reason,
        "reason_max_length": DECLINE_REASON_MAX_LENGTH,
    }
    status_code = refusal.http_status if refusal else 200
    return templates.TemplateResponse(
        request, "contact.html", context, status_code=status_code, headers=HEADERS
    )


def amounts_of(pay_app: PayAppPublic | None) -> dict[str, str]:
    """The form's amounts as the pay app holds them now (empty before it exists)."""
    if pay_app is None:
        return {}
    amounts = {}
    for line in pay_app.lines:
        amounts[f"work-{line.sov_line_id}"] = f"{line.this_period:.2f}"
        amounts[f"stored-{line.sov_line_id}"] = f"{line.materials_stored:.2f}"
    return amounts


def explain(refusal: DomainError, invitation: ContactInvitation) -> str:
    """The refusal in the contact's words."""
    general_contractor = invitation.general_contractor or "the general contractor"
    if isinstance(refusal, InvalidTransition) and refusal.status == "past_due":
        return (
            "The due date has passed, so this invitation can no longer be accepted. You can still "
            f"decline it, or ask {general_contractor} to extend the due date."
        )
    if isinstance(refusal, InvalidTransition) and refusal.status == PeriodStatus.CLOSED:
        return "This billing period is closed, so its invitation can no longer be answered."
    if isinstance(refusal, InvalidInput) and refusal.field.startswith("lines"):
        return "Please check the amount marked below: " + refusal.reason + "."
    if isinstance(refusal, InvalidInput):
        return f"Please check the {refusal.field}: {refusal.reason}."
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
