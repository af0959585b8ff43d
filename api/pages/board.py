"""A billing period's board as a page: the counts, one row per commitment (100 at a time, with
a filter by status and a search by vendor or number), ticks and Send invites with a banner that
names each refusal, and Close with a confirm. The invites and the close are the API's own
(api.period_steps)."""

import secrets
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from api import period_steps
from api.pages.entries import entry_of
from api.pages.session import (
    History,
    SignedIn,
    Staff,
    StaffPageRoute,
    engine_of,
    form_key,
    form_of,
    form_page,
    history_of,
    notice,
    read_form,
    refused_page,
)
from api.reads import reading
from api.steps import create_on_behalf_of
from paydraw.commitments import service as commitments
from paydraw.commitments.schemas import CommitmentPublic
from paydraw.domain.errors import DomainError, InvalidInput, NotFound
from paydraw.domain.terminology import Terminology, words
from paydraw.domain.transitions import InvitationStatus, PeriodStatus
from paydraw.invitations.schemas import ExtendDueDateRequest, InviteRequest, InviteResponse
from paydraw.pay_apps.schemas import PayAppCreate
from paydraw.periods import service as periods
from paydraw.periods.schemas import Board
from paydraw.projects import service as projects
from paydraw.projects.schemas import ProjectPublic, StaffRole
from paydraw.waivers import board as waivers

router = APIRouter(tags=["pages"], include_in_schema=False, route_class=StaffPageRoute)

BOARD_ROWS = 100  # rows of the board on one page; the counts are the whole period's


@dataclass(frozen=True)
class PeriodPage:
    board: Board
    project: ProjectPublic
    waivers_missing: dict[str, list[str]]
    """The lien waivers each commitment's pay app still lacks, by commitment id."""
    history: History


def load_board(session: Session, who: SignedIn, period_id: str, history: str | None) -> PeriodPage:
    board = periods.board(session, who.user, period_id)
    project_id = board.period.project_id
    return PeriodPage(
        board,
        projects.get_project(session, who.user, project_id),
        waivers.missing_on_board(session, project_id, period_id),
        history_of(session, who, "billing_period", period_id, history),
    )


@router.get("/billing-periods/{period_id}", response_class=HTMLResponse)
async def show_board(
    request: Request,
    who: Staff,
    period_id: str,
    status: str = "",
    q: str = "",
    page: int = 1,
    history: str = "",
) -> Response:
    return await board_page(
        request, who, period_id, status=status, search=q, page_number=page, history=history
    )


async def board_page(
    request: Request,
    who: SignedIn,
    period_id: str,
    *,
    status: str = "",
    search: str = "",
    page_number: int = 1,
    result: InviteResponse | None = None,
    refusal: DomainError | None = None,
    history: str = "",
) -> Response:
    try:
        shown = await reading(
            engine_of(request), lambda s: load_board(s, who, period_id, history or None)
        )
    except NotFound:
        return notice(request, who, 404, "This billing period is not available")
    wanted = search.strip().lower()
    rows = [
        row
        for row in shown.board.rows
        if (not status or status in (row.invitation_status, row.pay_app_status))
        and (not wanted or wanted in row.vendor_name.lower() or wanted in row.number.lower())
    ]
    numbers = {row.commitment_id: row.number for row in shown.board.rows}
    pages = max(1, -(-len(rows) // BOARD_ROWS))
    page_number = min(max(page_number, 1), pages)
    first = (page_number - 1) * BOARD_ROWS
    context = {
        "board": shown.board,
        "currency": shown.project.currency,
        "history": shown.history,
        "rows": rows[first : first + BOARD_ROWS],
        "matching": len(rows),
        "first_row": first + 1,
        "page_number": page_number,
        "pages": pages,
        "project": shown.project,
        "is_admin": shown.project.your_role == StaffRole.ADMIN,
        "is_open": shown.board.period.status == PeriodStatus.OPEN,
        "status": status,
        "search": search,
        "statuses": [str(s) for s in InvitationStatus],
        "result": result,
        "numbers": numbers,
        "waivers_missing": shown.waivers_missing,
        "invited_rows": [
            row for row in shown.board.rows if row.invitation_status != InvitationStatus.NOT_INVITED
        ],
        "words": words(Terminology(shown.project.terminology)),
        "action_key": secrets.token_urlsafe(16),
    }
    return form_page(request, "board.html", context, who, refusal)


@router.post("/billing-periods/{period_id}/invites")
async def send_invites(request: Request, period_id: str, who: Staff) -> Response:
    """Invite the ticked commitments; the board again with a banner and each refusal's reason."""
    raw = await request.form()
    form = await form_of(request, who)
    ticked = [value for value in raw.getlist("commitment_id") if isinstance(value, str)]
    key = form_key(who, request.url.path, form)
    try:
        body = read_form(
            InviteRequest, {"commitment_ids": ticked, "message": form.get("message", "")}
        )
        result = await period_steps.invite(request, who.user, period_id, body, key)
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await board_page(request, who, period_id, refusal=refusal)
    return await board_page(request, who, period_id, result=result)


@router.post("/billing-periods/{period_id}/close")
async def close_period(request: Request, period_id: str, who: Staff) -> Response:
    form = await form_of(request, who)
    try:
        if form.get("confirm") != "yes":
            raise InvalidInput("confirm", "tick the box to close the period")
        await period_steps.close(
            request, who.user, period_id, form_key(who, request.url.path, form)
        )
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await board_page(request, who, period_id, refusal=refusal)
    return RedirectResponse(f"/billing-periods/{period_id}", status_code=303)


@router.post("/billing-periods/{period_id}/extend-due-date")
async def extend_due_date(request: Request, period_id: str, who: Staff) -> Response:
    """A later due date for one invited commitment: no longer overdue, it can bill again."""
    form = await form_of(request, who)
    commitment_id = form.get("commitment_id", "")
    try:
        body = read_form(ExtendDueDateRequest, {"due_date": form.get("due_date", "")})
        key = form_key(who, request.url.path, form)
        await period_steps.extend_due_date(request, who.user, period_id, commitment_id, body, key)
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await board_page(request, who, period_id, refusal=refusal)
    return RedirectResponse(f"/billing-periods/{period_id}", status_code=303)


def bill_path(period_id: str, commitment_id: str) -> str:
    return f"/billing-periods/{period_id}/commitments/{commitment_id}/pay-app"


@router.get("/billing-periods/{period_id}/commitments/{commitment_id}/pay-app")
async def bill_for_them(
    request: Request, period_id: str, commitment_id: str, who: Staff
) -> Response:
    """An admin fills in the period's pay app for a commitment, on its contact's behalf."""
    return await bill_page(request, who, period_id, commitment_id)


async def bill_page(
    request: Request,
    who: SignedIn,
    period_id: str,
    commitment_id: str,
    refusal: DomainError | None = None,
    entered: dict[str, str] | None = None,
) -> Response:
    def load(session: Session) -> tuple[CommitmentPublic, ProjectPublic]:
        periods.period_for(session, who.user, period_id)
        commitment = commitments.get_commitment(session, who.user, commitment_id)
        return commitment, projects.get_project(session, who.user, commitment.project_id)

    try:
        commitment, project = await reading(engine_of(request), load)
    except NotFound:
        return notice(request, who, 404, "This is not available")
    context = {
        "commitment": commitment,
        "project": project,
        "period_id": period_id,
        "currency": project.currency,
        "words": words(Terminology(project.terminology)),
        "entered": entered or {},
        "action_key": secrets.token_urlsafe(16),
    }
    return form_page(request, "staff_bill.html", context, who, refusal)


@router.post("/billing-periods/{period_id}/commitments/{commitment_id}/pay-app")
async def create_for_them(
    request: Request, period_id: str, commitment_id: str, who: Staff
) -> Response:
    form = await form_of(request, who)
    try:
        body = read_form(PayAppCreate, {"entry": entry_of(form)})
        key = form_key(who, request.url.path, form)
        answer = await create_on_behalf_of(request, who.user, period_id, commitment_id, body, key)
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await bill_page(request, who, period_id, commitment_id, refusal, form)
    assert answer is not None
    return RedirectResponse(f"/pay-apps/{answer.pay_app_id}", status_code=303)
