"""The staff's pages: sign-in by emailed link, their projects, the review queue and the pay-app
page with the actions their role may take.

A browser is signed in by a session cookie (HttpOnly, SameSite=Lax, Secure behind https); every
form that changes something carries the session's CSRF token, and a post without it is refused.
The pages call the same services and send the same workflow updates as the JSON API (api.steps):
what a role may do in which state is the pay app's transition table, read here only to decide
which buttons to show.
"""

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.downloads import g702_download
from api.lien_waiver_files import pdf_response
from api.pages.entries import entry_of
from api.pages.session import (
    SESSION_COOKIE,
    SignedIn,
    Staff,
    StaffPageRoute,
    engine_of,
    form_key,
    form_of,
    form_page,
    notice,
    page,
    read_form,
    settings_of,
    signed_in,
)
from api.process import get_temporal
from api.reads import in_transaction, reading
from api.steps import act, deliver, submit_or_resubmit
from paydraw.attachments import service as attachments
from paydraw.attachments.schemas import AttachmentList
from paydraw.db.tables import Commitment, Project, User
from paydraw.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from paydraw.domain.terminology import Terminology, words
from paydraw.domain.transitions import PayAppAction, Role
from paydraw.domain.waivers import WaiverKind
from paydraw.lists import service as lists
from paydraw.lists.paging import DEFAULT_LIMIT
from paydraw.logs import note
from paydraw.pay_apps import service as pay_apps
from paydraw.pay_apps.schemas import (
    PayAppKind,
    PayAppLinesEdit,
    PayAppPublic,
    PaymentCreate,
    PaymentMethod,
    Review,
)
from paydraw.users import service as users
from paydraw.users import sign_in
from paydraw.users.sign_in import SignInRefused
from paydraw.waivers import service as waivers
from paydraw.waivers.schemas import PayAppLienWaivers, WaiverExemptionCreate

router = APIRouter(tags=["pages"], include_in_schema=False, route_class=StaffPageRoute)

# -- signing in -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """Signed in: your projects. Signed out: sign in."""
    if await signed_in(request) is None:
        return RedirectResponse("/sign-in", status_code=303)
    return RedirectResponse("/projects", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str = "/") -> Response:
    return page(request, "sign_in.html", {"next": sign_in.safe_next(next), "email": ""})


@router.post("/sign-in", response_class=HTMLResponse)
async def request_sign_in(request: Request) -> Response:
    """Email a one-time sign-in link to a staff user with this address. The answer is the same
    whether or not one has it, so the page tells nobody who has an account."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    email = form.get("email", "").strip().lower()
    next_path = sign_in.safe_next(form.get("next", "/"))
    if "@" not in email or len(email) > 320:
        context = {"next": next_path, "email": email, "error": "Enter the email you work with."}
        return page(request, "sign_in.html", context, status_code=422)
    settings = settings_of(request)
    await get_temporal(request)  # before the link is written: its email needs it
    outbox_id = await in_transaction(
        engine_of(request),
        lambda s: sign_in.email_sign_in_link(s, settings, email, next_path),
    )
    await deliver(request, outbox_id)
    return page(request, "sign_in_sent.html", {"email": email})


@router.get("/sign-in/{token}", response_class=HTMLResponse)
async def confirm_sign_in(request: Request, token: str) -> Response:
    """The emailed link opens a button, not the session: a mail scanner that fetches the link
    does not spend it."""
    return page(request, "sign_in_confirm.html", {"token": token})


@router.post("/sign-in/{token}")
async def spend_sign_in(request: Request, token: str) -> Response:
    settings = settings_of(request)

    def spend(session: Session) -> tuple[str, str]:
        user, next_path = sign_in.spend(session, settings, token)
        return sign_in.start_session(session, settings, user), next_path

    try:
        session_token, next_path = await in_transaction(engine_of(request), spend)
    except SignInRefused as refused:
        context = {"next": "/", "email": "", "error": refused.message.capitalize() + "."}
        return page(request, "sign_in.html", context, status_code=401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=settings.session_max_age_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.resolved_public_url.startswith("https://"),
        path="/",
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    who = await signed_in(request)
    if who is not None:
        await form_of(request, who)
        await in_transaction(engine_of(request), lambda s: sign_in.end_session(s, who.token))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- projects and the review queue ------------------------------------------------------------


@router.get("/projects", response_class=HTMLResponse)
async def projects(request: Request, who: Staff, projects: str = "") -> Response:
    """Your projects, 50 at a time (``?projects=<cursor>``, as the API pages them)."""
    found = await reading(
        engine_of(request),
        lambda s: lists.projects(s, who.user, cursor=projects or None, limit=DEFAULT_LIMIT),
    )
    context = {"projects": found.items, "next_projects": found.next_cursor}
    return page(request, "projects.html", context, who)


@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, who: Staff, pay_apps: str = "") -> Response:
    """Every pay app waiting for the signed-in user's next step, across projects, oldest first,
    50 at a time (``?pay_apps=<cursor>``)."""
    found = await reading(
        engine_of(request),
        lambda s: lists.pay_apps(
            s, who.user, waiting_for_me=True, cursor=pay_apps or None, limit=DEFAULT_LIMIT
        ),
    )
    context = {"pay_apps": found.items, "next_pay_apps": found.next_cursor}
    return page(request, "queue.html", context, who)


# -- a pay app --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayAppPage:
    pay_app: PayAppPublic
    role: Role
    project: Project
    commitment: Commitment
    lien_waivers: PayAppLienWaivers


def load_pay_app(session: Session, who: SignedIn, pay_app_id: str) -> PayAppPage:
    role, row = pay_apps.locate(session, who.user.id, pay_app_id)
    pay_app = pay_apps.get(session, role, pay_app_id)
    commitment = session.get(Commitment, row.commitment_id)
    project = session.get(Project, row.project_id)
    assert commitment is not None and project is not None
    lien_waivers = waivers.for_staff(session, who.user, pay_app_id)
    return PayAppPage(pay_app, role, project, commitment, lien_waivers)


@router.get("/pay-apps/{pay_app_id}", response_class=HTMLResponse)
async def show_pay_app(request: Request, pay_app_id: str, who: Staff) -> Response:
    return await pay_app_page(request, who, pay_app_id)


LINES_PAGE = "staff_pay_app_lines.html"  # the amounts line by line, a page of its own


@router.get("/pay-apps/{pay_app_id}/lines", response_class=HTMLResponse)
async def show_pay_app_lines(request: Request, pay_app_id: str, who: Staff) -> Response:
    """A draft's (or a sent-back pay app's) amounts to change, line by line."""
    return await pay_app_page(request, who, pay_app_id, template=LINES_PAGE)


async def pay_app_page(
    request: Request,
    who: SignedIn,
    pay_app_id: str,
    refusal: DomainError | None = None,
    entered: dict[str, str] | None = None,
    template: str = "staff_pay_app.html",
) -> Response:
    limits = request.app.state.attachment_limits
    caller = attachments.Caller(who.user)

    def load(session: Session) -> tuple[PayAppPage, AttachmentList]:
        shown = load_pay_app(session, who, pay_app_id)
        return shown, attachments.listing(session, caller, pay_app_id, limits)

    try:
        shown, files = await reading(engine_of(request), load)
    except NotFound:
        return notice(request, who, 404, "This pay application is not available")
    note(pay_app_id=pay_app_id, project_id=shown.project.id)
    actions = set(shown.pay_app.allowed_actions)
    context = {
        "pay_app": shown.pay_app,
        "role": shown.role,
        "project": shown.project,
        "commitment": shown.commitment,
        "currency": shown.project.currency,
        "words": words(Terminology(shown.project.terminology)),
        "may": {action: action in actions for action in PayAppAction},
        "may_review": bool(actions & REVIEWS),
        "may_pay": bool(actions & PAYMENTS),
        # The amounts line by line, while the state and the role allow changing them; a
        # retainage release's amounts are not a progress entry.
        "may_edit_lines": PayAppAction.EDIT_LINES in actions
        and shown.pay_app.kind != PayAppKind.RETAINAGE_RELEASE,
        "methods": [method for method in PaymentMethod],
        "today": date.today().isoformat(),
        "action_key": secrets.token_urlsafe(16),
        "entered": entered or {},
        "lien_waivers": shown.lien_waivers,
        "files": files,
        "files_base": f"/pay-apps/{pay_app_id}/attachments",
        "files_query": "",
        "files_hidden": {"csrf_token": who.csrf},
        "may_attach": files.may_attach,
    }
    return form_page(request, template, context, who, refusal)


@router.get("/pay-apps/{pay_app_id}/lien-waivers/{waiver_id}.pdf")
async def download_lien_waiver(
    request: Request, pay_app_id: str, waiver_id: str, who: Staff
) -> Response:
    """A signed lien waiver, for a member of its project."""
    try:
        name, pdf = await reading(
            engine_of(request), lambda session: waivers.pdf_for_staff(session, who.user, waiver_id)
        )
    except NotFound:
        return notice(request, who, 404, "This lien waiver is not available")
    return pdf_response(name, pdf)


@router.post("/pay-apps/{pay_app_id}/lien-waivers/waive")
async def waive_lien_waiver(request: Request, pay_app_id: str, who: Staff) -> Response:
    """An admin waives one required lien waiver for this pay app, with a reason."""
    form = await form_of(request, who)
    try:
        kind = WaiverKind(form.get("kind", ""))
        body = read_form(WaiverExemptionCreate, {"reason": form.get("reason", "")})
        await in_transaction(
            engine_of(request),
            lambda session: waivers.waive(session, who.user, pay_app_id, kind, body),
        )
    except ValueError:
        return await pay_app_page(
            request, who, pay_app_id, InvalidInput("kind", "not a kind of lien waiver"), form
        )
    except NotFound:
        return notice(request, who, 404, "This pay application is not available")
    except PermissionDenied:
        return notice(request, who, 403, "You may not do that")
    except DomainError as refusal:
        return await pay_app_page(request, who, pay_app_id, refusal, form)
    return RedirectResponse(f"/pay-apps/{pay_app_id}#lien-waivers", status_code=303)


REVIEWS = {PayAppAction.APPROVE, PayAppAction.APPROVE_AS_NOTED, PayAppAction.REVISE}
PAYMENTS = {PayAppAction.PAY_PART, PayAppAction.PAY_IN_FULL}


@router.get("/pay-apps/{pay_app_id}/g702.pdf")
async def g702_pdf(request: Request, pay_app_id: str, who: Staff) -> Response:
    """The G702/G703 download of the pay-app page, as the API's."""
    try:
        return await g702_download(
            engine_of(request),
            pay_app_id,
            lambda session: pay_apps.locate(session, who.user.id, pay_app_id),
        )
    except NotFound:
        return notice(request, who, 404, "This pay application is not available")


@router.post("/pay-apps/{pay_app_id}")
async def act_on_pay_app(request: Request, pay_app_id: str, who: Staff) -> Response:
    """One of the page's actions; a refusal shows the page again with the API's message."""
    form = await form_of(request, who)
    intent = form.get("intent", "")
    key = form_key(who, f"{request.url.path}#{intent}", form)
    try:
        action, fields = action_of(intent, form)
        await act(request, who.user, pay_app_id, action, key, **fields)
    except NotFound:
        return notice(request, who, 404, "This pay application is not available")
    except PermissionDenied:
        return notice(request, who, 403, "You may not do that")
    except DomainError as refusal:
        shown_again = LINES_PAGE if intent == "edit_lines" else "staff_pay_app.html"
        return await pay_app_page(request, who, pay_app_id, refusal, form, shown_again)
    if intent == "delete":
        return RedirectResponse("/queue", status_code=303)
    return RedirectResponse(f"/pay-apps/{pay_app_id}", status_code=303)


def action_of(intent: str, form: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    """The pay-app action a form asks for, and its payload, checked like the API's body."""
    try:
        match intent:
            case "approve" | "approve_as_noted" | "revise":
                return PayAppAction(intent), {"review": review_of(intent, form)}
            case "finalize":
                if form.get("confirm") != "yes":
                    raise InvalidInput("confirm", "tick the box to lock and certify it")
                return PayAppAction.FINALIZE, {}
            case "pay":
                payment = PaymentCreate(
                    amount=form.get("amount", "").strip().replace(",", "").lstrip("$"),
                    method=form.get("method", ""),
                    reference=form.get("reference", ""),
                    paid_on=form.get("paid_on", ""),
                )
                return PayAppAction.PAY_PART, {"payment": payment}
            case "void":
                if not form.get("reason", "").strip():
                    raise InvalidInput("reason", "a reason is required to void")
                return PayAppAction.VOID, {"reason": form["reason"].strip()}
            case "edit_lines":
                lines = {
                    "entry": entry_of(form),
                    "overbilling_override_reason": form.get("override_reason", "").strip(),
                }
                return PayAppAction.EDIT_LINES, {"lines": PayAppLinesEdit.model_validate(lines)}
            case "submit":
                return submit_or_resubmit, {}
            case "delete":
                return PayAppAction.DELETE, {}
    except ValidationError as invalid:
        error = invalid.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "form"
        raise InvalidInput(field, str(error["msg"]).removeprefix("Value error, ")) from None
    raise InvalidInput("intent", f"unknown action {intent!r}")


def review_of(decision: str, form: dict[str, str]) -> Review:
    """The review the form describes: per line, a reason (revise), or an adjusted amount and a
    note (approve as noted)."""
    lines = []
    for key in form:
        if not key.startswith("line-"):
            continue
        line_id = key.removeprefix("line-")
        reason = form.get(f"reason-{line_id}", "").strip()
        note_text = form.get(f"note-{line_id}", "").strip()
        adjusted = form.get(f"adjust-{line_id}", "").strip().replace(",", "").lstrip("$")
        if decision == "revise" and reason:
            lines.append({"sov_line_id": line_id, "approved": False, "reason": reason})
        elif decision == "approve_as_noted" and adjusted:
            try:
                Decimal(adjusted)
            except InvalidOperation:
                raise InvalidInput(f"adjust-{line_id}", f"{adjusted!r} is not an amount") from None
            lines.append({"sov_line_id": line_id, "work_this_period": adjusted, "note": note_text})
    return Review.model_validate(
        {"decision": decision, "note": form.get("note", "").strip(), "lines": lines}
    )


# -- the signed-in user's API keys ------------------------------------------------------------


@router.get("/api-keys", response_class=HTMLResponse)
async def api_keys(request: Request, who: Staff) -> Response:
    return await keys_page(request, who)


async def keys_page(request: Request, who: SignedIn, new_key: str = "") -> Response:
    keys = await reading(engine_of(request), lambda s: users.keys_of(s, who.user.id))
    context = {"keys": keys, "new_key": new_key, "csrf_token": who.csrf}
    return page(request, "api_keys.html", context, who)


@router.post("/api-keys")
async def create_api_key(request: Request, who: Staff) -> Response:
    """A new key for programs, shown once on the page that answers."""
    await form_of(request, who)

    def issue(session: Session) -> str:
        user = session.get(User, who.user.id)
        assert user is not None
        return users.issue_key(session, user)

    key = await in_transaction(engine_of(request), issue)
    return await keys_page(request, who, new_key=key)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(request: Request, key_id: str, who: Staff) -> Response:
    await form_of(request, who)

    def revoke(session: Session) -> None:
        user = session.get(User, who.user.id)
        assert user is not None
        users.revoke_key(session, user, key_id)

    try:
        await in_transaction(engine_of(request), revoke)
    except NotFound:
        return notice(request, who, 404, "This API key is not available")
    return RedirectResponse("/api-keys", status_code=303)
