"""The invoice contact's page: the link in the invite email opens it.

The signed token in the address is the contact's whole credential (no password), so the page shows
only the one commitment and period it names, and answers the invite through the same code as the
JSON endpoints. Each form carries a random key of its own as the workflow update id: a double-click
answers once.
"""

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from sqlmodel import Session

from api.deps import SettingsDep
from api.idempotency import caller_of, request_fingerprint, request_update_id
from api.pages.html import templates
from api.reads import reading
from api.steps import DECLINE_REASON_MAX_LENGTH, answer
from paydraw.contacts import service
from paydraw.contacts.tokens import ContactClaim, InvalidToken, verify
from paydraw.domain.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from paydraw.domain.terminology import Terminology, words
from paydraw.domain.transitions import Role
from paydraw.pay_apps import service as pay_app_service
from paydraw.pay_apps.schemas import PayAppPublic
from paydraw.periods import repository
from paydraw.periods.schemas import ContactInvitation
from paydraw.settings import Settings

router = APIRouter(prefix="/contact", tags=["pages"], include_in_schema=False)

# The address holds the contact's credential: never cached, never passed on as a Referer, never
# framed (a framed Accept button could be clicked by a page the contact did not mean to trust).
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
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
) -> Response:
    engine: Engine = request.app.state.engine
    try:
        page = await reading(engine, lambda session: load_page(session, claim))
    except NotFound:
        return not_in_scope(request)
    field_errors: dict[str, str] = {}
    if isinstance(refusal, InvalidInput):
        field_errors[refusal.field] = refusal.reason
    context: dict[str, Any] = {
        "invitation": page.invitation,
        "words": page.words,
        "decline_reason": page.decline_reason,
        "currency": page.currency,
        "pay_app": page.pay_app,
        "token": token,
        # One key per form: an accept and a decline are different answers, never one repeated.
        "accept_key": secrets.token_urlsafe(16),
        "decline_key": secrets.token_urlsafe(16),
        "refusal": explain(refusal, page.invitation) if refusal else "",
        "field_errors": field_errors,
        "reason": reason,
        "reason_max_length": DECLINE_REASON_MAX_LENGTH,
    }
    status_code = refusal.http_status if refusal else 200
    return templates.TemplateResponse(
        request, "contact.html", context, status_code=status_code, headers=HEADERS
    )


def explain(refusal: DomainError, invitation: ContactInvitation) -> str:
    """The refusal in the contact's words."""
    general_contractor = invitation.general_contractor or "the general contractor"
    if isinstance(refusal, InvalidTransition) and refusal.status == "past_due":
        return (
            "The due date has passed, so this invitation can no longer be accepted. You can still "
            f"decline it, or ask {general_contractor} to extend the due date."
        )
    if isinstance(refusal, InvalidTransition) and refusal.status == "closed":
        return "This billing period is closed, so its invitation can no longer be answered."
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
