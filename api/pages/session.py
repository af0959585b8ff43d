"""What every staff page shares: who is signed in (the session cookie), the forms' CSRF check,
reading a form into the API's request model, a form's workflow update id, rendering a page or a
notice."""

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from api.idempotency import caller_of, request_fingerprint, request_update_id
from api.pages.html import templates
from api.reads import reading
from paydraw import actors
from paydraw.actors import Actor
from paydraw.display import event_in_words
from paydraw.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from paydraw.domain.transitions import PayAppStatus
from paydraw.lists import service as lists
from paydraw.lists.paging import DEFAULT_LIMIT
from paydraw.lists.schemas import HistorySubject
from paydraw.logs import note
from paydraw.settings import Settings
from paydraw.users import sign_in

SESSION_COOKIE = "paydraw_session"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATUS_WORDS = {
    PayAppStatus.DRAFT: "Draft",
    PayAppStatus.UNDER_REVIEW: "Under review",
    PayAppStatus.REVISE_AND_RESUBMIT: "Sent back for changes",
    PayAppStatus.APPROVED: "Approved",
    PayAppStatus.FINALIZED: "Certified",
    PayAppStatus.PAID: "Paid",
    PayAppStatus.VOID: "Void",
}


@dataclass(frozen=True)
class SignedIn:
    user: Actor
    token: str
    csrf: str


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def signed_in(request: Request) -> SignedIn | None:
    """The signed-in staff user of this browser, while the session lasts."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    user = await reading(engine_of(request), lambda s: sign_in.user_of_session(s, token))
    if user is None:
        return None
    actor = actors.user(user.id, user.email)
    note(actor=actor.label)
    return SignedIn(actor, token, sign_in.csrf_token(settings_of(request), token))


class SignInFirst(Exception):
    """A staff page asked for without a session: off to sign in, and back here afterwards."""


async def require_signed_in(request: Request) -> SignedIn:
    who = await signed_in(request)
    if who is None:
        raise SignInFirst()
    return who


Staff = Annotated[SignedIn, Depends(require_signed_in)]
"""The signed-in staff user of a page; without one, the answer is the redirect to sign in."""


def install(app: FastAPI) -> None:
    async def sign_in_first(request: Request, _: Exception) -> Response:
        return to_sign_in(request)

    app.add_exception_handler(SignInFirst, sign_in_first)


def to_sign_in(request: Request) -> RedirectResponse:
    """Off to sign in, and back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?{urlencode({'next': here})}", status_code=303)


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    who: SignedIn | None = None,
    status_code: int = 200,
) -> Response:
    shown = {"who": who, "status_words": STATUS_WORDS, **context}
    return templates.TemplateResponse(
        request, template, shown, status_code=status_code, headers=HEADERS
    )


def notice(
    request: Request, who: SignedIn | None, status_code: int, heading: str, text: str = ""
) -> Response:
    texts = {
        403: "Your role on this project does not allow it.",
        404: "It does not exist, or you have no role on its project.",
        503: "Paydraw could not do this right now, and nothing was changed. Please try again "
        "in a minute.",
        504: "Paydraw is still working on it. Look again in a minute before you send it again.",
    }
    context = {"heading": heading, "text": text or texts.get(status_code, "")}
    return page(request, "staff_notice.html", context, who, status_code)


async def form_of(request: Request, who: SignedIn) -> dict[str, str]:
    """The posted form, once its CSRF token is the session's (a 403 otherwise)."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    if not sign_in.csrf_matches(settings_of(request), who.token, form.get("csrf_token", "")):
        raise HTTPException(status_code=403, detail="the form's CSRF token is missing or wrong")
    return form


def read_form(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """``data`` as the API's request model; the first problem as the field and why."""
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        error = invalid.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "form"
        raise InvalidInput(field, str(error["msg"]).removeprefix("Value error, ")) from None


def form_key(who: SignedIn, path: str, form: dict[str, str]) -> str:
    """The workflow update id of a page's form: its own random key, for this session and form."""
    key = form.get("idempotency_key", "")
    if not 0 < len(key) <= 100:
        key = secrets.token_urlsafe(16)
    fingerprint = request_fingerprint("POST", path, b"", b"")
    return request_update_id(caller_of(who.token.encode()), key, fingerprint)


def refused_page(request: Request, who: SignedIn | None, refusal: DomainError) -> Response | None:
    """The notice for a refusal that leaves no page to show again (404, 403)."""
    if isinstance(refusal, NotFound):
        return notice(request, who, 404, "This is not available")
    if isinstance(refusal, PermissionDenied):
        return notice(request, who, 403, "You may not do that")
    return None


def explained(refusal: DomainError) -> str:
    if isinstance(refusal, InvalidInput):
        return f"Please check {refusal.field}: {refusal.reason}."
    return refusal.message


def form_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    who: SignedIn,
    refusal: DomainError | None = None,
) -> Response:
    """A page of forms: each carries the session's CSRF token, and a refusal shows above them
    with the API's status code."""
    shown = {**context, "refusal": explained(refusal) if refusal else "", "csrf_token": who.csrf}
    return page(request, template, shown, who, refusal.http_status if refusal else 200)


UNAVAILABLE = {503: "This could not be done right now", 504: "This is taking longer than usual"}


class StaffPageRoute(APIRoute):
    """A staff page's route. When the billing process cannot take an action right now (Temporal
    out of reach or busy: the API's 503, or its 504 while an action still runs), the answer is a
    page that says so, with the same status code, instead of the API's JSON error body; so is a
    refusal the page did not show itself."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as refusal:  # one a page did not show itself: a bad cursor, say
                who = await signed_in(request)
                if shown := refused_page(request, who, refusal):
                    return shown
                heading = "This could not be done"
                return notice(request, who, refusal.http_status, heading, explained(refusal))
            except HTTPException as failure:
                if failure.status_code not in UNAVAILABLE:
                    raise
                who = await signed_in(request)
                shown = notice(request, who, failure.status_code, UNAVAILABLE[failure.status_code])
                shown.headers.update(failure.headers or {})
                return shown

        return answer


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    said: str  # "ap@gc.example approved the schedule of values"
    subject: HistorySubject | None  # the commitment (and pay app) it is about


@dataclass(frozen=True)
class History:
    """A page of an object's history in plain words, oldest first, and where the next begins."""

    lines: list[HistoryLine]
    next_cursor: str | None


def history_of(
    session: Session, who: SignedIn, entity_type: str, entity_id: str, cursor: str | None
) -> History:
    """The history the API lists for the object (``GET .../history``), in the audit trail's
    plain words, a page at a time (``?history=<cursor>``). A project's or a period's events
    each name the commitment (or pay app) they are about."""
    found = lists.history(session, who.user, entity_type, entity_id, cursor, DEFAULT_LIMIT)
    names_subjects = entity_type in ("project", "billing_period")
    about = lists.subjects(session, found.items) if names_subjects else {}
    lines = [
        HistoryLine(
            event.at,
            event_in_words(event.entity_type, event.action, event.actor, event.reason),
            about.get(event.id),
        )
        for event in found.items
    ]
    return History(lines, found.next_cursor)
