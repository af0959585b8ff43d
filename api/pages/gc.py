"""The general contractor's pages: a new project, the project page (commitments and where each
stands, members, billing periods), a commitment (its SOV to approve, its pay apps). A period's
board is api.pages.board.

The forms post what the JSON API takes, read into the same request models and handed to the same
services and workflow updates (api.period_steps); a refusal shows the page again with the API's
message. A viewer sees the pages without their forms, and is refused (403) a form posted anyway.
"""

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from api import period_steps
from api.downloads import billing_report_download
from api.pages.entries import typed
from api.pages.session import (
    History,
    SignedIn,
    Staff,
    StaffPageRoute,
    engine_of,
    explained,
    form_of,
    form_page,
    history_of,
    notice,
    page,
    read_form,
    refused_page,
    settings_of,
)
from api.process import get_temporal
from api.reads import in_transaction, reading
from api.steps import deliver
from paydraw.commitments import service as commitments
from paydraw.commitments import summary as summaries
from paydraw.commitments.schemas import (
    BillingSummary,
    ChangeOrderCreate,
    CommitmentCreate,
    CommitmentPublic,
    CreditEntryPublic,
    SovReplace,
)
from paydraw.domain.contract import OverbillingPolicy
from paydraw.domain.errors import DomainError, NotFound
from paydraw.domain.terminology import Terminology, words
from paydraw.domain.transitions import PeriodStatus
from paydraw.domain.waivers import WAIVER_TITLES, WaiverKind
from paydraw.lists import service as lists
from paydraw.lists.paging import DEFAULT_LIMIT, MAX_LIMIT
from paydraw.lists.schemas import PayAppListed
from paydraw.pay_apps import service as pay_apps
from paydraw.pay_apps.schemas import CreditCreate
from paydraw.periods.schemas import PeriodCreate, PeriodPublic
from paydraw.projects import service as projects
from paydraw.projects.schemas import (
    BillingCycle,
    MemberAdd,
    ProjectCreate,
    ProjectMembers,
    ProjectPublic,
    ProjectSettings,
    StaffRole,
)
from paydraw.schedules import sync_billing_cycle

router = APIRouter(tags=["pages"], include_in_schema=False, route_class=StaffPageRoute)

SOV_ROWS = 8  # blank SOV rows on the new-commitment form


# -- projects ---------------------------------------------------------------------------------


@router.post("/projects")
async def create_project(request: Request, who: Staff) -> Response:
    form = await form_of(request, who)
    try:
        body = read_form(
            ProjectCreate,
            {
                key: form[key]
                for key in ("name", "number", "general_contractor", "owner")
                if form.get(key, "").strip()
            },
        )
        created = await in_transaction(
            engine_of(request), lambda s: projects.create_project(s, who.user, body)
        )
    except DomainError as refusal:
        found = await reading(
            engine_of(request),
            lambda s: lists.projects(s, who.user, cursor=None, limit=DEFAULT_LIMIT),
        )
        context = {
            "projects": found.items,
            "next_projects": found.next_cursor,
            "refusal": explained(refusal),
            "entered": form,
        }
        return page(request, "projects.html", context, who, refusal.http_status)
    return RedirectResponse(f"/projects/{created.id}", status_code=303)


@dataclass(frozen=True)
class CommitmentRow:
    commitment: CommitmentPublic
    summary: BillingSummary


@dataclass(frozen=True)
class ProjectPage:
    project: ProjectPublic
    rows: list[CommitmentRow]
    next_rows: str | None  # the cursor of the next page of commitments
    members: ProjectMembers
    periods: list[PeriodPublic]
    history: History


def load_project(
    session: Session, who: SignedIn, project_id: str, cursor: str | None, history: str | None
) -> ProjectPage:
    project = projects.get_project(session, who.user, project_id)
    listed = lists.commitments(session, who.user, project_id, cursor, DEFAULT_LIMIT)
    rows = [
        CommitmentRow(
            commitments.get_commitment(session, who.user, item.id),
            summaries.billing_summary(session, who.user, item.id),
        )
        for item in listed.items
    ]
    members = projects.list_members(session, who.user, project_id)
    found = lists.periods(session, who.user, project_id, cursor=None, limit=MAX_LIMIT).items
    return ProjectPage(
        project,
        rows,
        listed.next_cursor,
        members,
        found,
        history_of(session, who, "project", project_id, history),
    )


@router.get("/projects/{project_id}", response_class=HTMLResponse)
async def show_project(
    request: Request, project_id: str, who: Staff, commitments: str = "", history: str = ""
) -> Response:
    """The project: its commitments 50 at a time (``?commitments=<cursor>``), periods,
    settings, members and history (``?history=<cursor>``)."""
    return await project_page(request, who, project_id, cursor=commitments, history=history)


async def project_page(
    request: Request,
    who: SignedIn,
    project_id: str,
    refusal: DomainError | None = None,
    entered: dict[str, str] | None = None,
    form_name: str = "",
    *,
    cursor: str = "",
    history: str = "",
) -> Response:
    try:
        shown = await reading(
            engine_of(request),
            lambda s: load_project(s, who, project_id, cursor or None, history or None),
        )
    except NotFound:
        return notice(request, who, 404, "This project is not available")
    context = {
        "project": shown.project,
        "rows": shown.rows,
        "next_rows": shown.next_rows,
        "history": shown.history,
        "members": shown.members.members,
        "periods": shown.periods,
        "open_period": next((p for p in shown.periods if p.status == PeriodStatus.OPEN), None),
        "is_admin": shown.project.your_role == StaffRole.ADMIN,
        "currency": shown.project.currency,
        "words": words(Terminology(shown.project.terminology)),
        "sov_rows": range(SOV_ROWS),
        "roles": list(StaffRole),
        "policies": list(OverbillingPolicy),
        "terminologies": list(Terminology),
        "waiver_titles": WAIVER_TITLES,
        "form_name": form_name,
        "entered": entered or {},
    }
    return form_page(request, "project.html", context, who, refusal)


@router.post("/projects/{project_id}/commitments")
async def add_commitment(request: Request, project_id: str, who: Staff) -> Response:
    form = await form_of(request, who)
    lines = [
        {
            "code": form.get(f"code-{row}", "").strip(),
            "description": form.get(f"description-{row}", "").strip(),
            "scheduled_value": form.get(f"value-{row}", "").strip().replace(",", "").lstrip("$"),
        }
        for row in range(SOV_ROWS)
        if form.get(f"code-{row}", "").strip() or form.get(f"value-{row}", "").strip()
    ]
    contact = {"name": form.get("contact_name", "").strip(), "email": form.get("contact_email")}
    data = {
        "number": form.get("number", "").strip(),
        "vendor_name": form.get("vendor_name", "").strip(),
        "title": form.get("title", "").strip(),
        "contacts": [contact] if contact["email"] else [],
        "sov_lines": lines,
    }
    try:
        body = read_form(CommitmentCreate, data)
        await in_transaction(
            engine_of(request),
            lambda s: commitments.create_commitment(s, who.user, project_id, body),
        )
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await project_page(request, who, project_id, refusal, form, "commitment")
    return RedirectResponse(f"/projects/{project_id}#commitments", status_code=303)


@router.post("/projects/{project_id}/members")
async def add_member(request: Request, project_id: str, who: Staff) -> Response:
    """Give a person a role; a new member gets a sign-in email."""
    form = await form_of(request, who)
    settings = settings_of(request)

    def add(session: Session) -> str | None:
        body = read_form(MemberAdd, {key: form.get(key, "").strip() for key in ("email", "role")})
        _, outbox_id = projects.add_member_emailed(session, settings, who.user, project_id, body)
        return outbox_id

    try:
        await get_temporal(request)  # before the member is written: the email needs it
        outbox_id = await in_transaction(engine_of(request), add)
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await project_page(request, who, project_id, refusal, form, "member")
    await deliver(request, outbox_id)
    return RedirectResponse(f"/projects/{project_id}#members", status_code=303)


@router.post("/projects/{project_id}/billing-periods")
async def open_period(request: Request, project_id: str, who: Staff) -> Response:
    form = await form_of(request, who)
    try:
        body = read_form(
            PeriodCreate, {key: form.get(key) for key in ("start_date", "end_date", "due_date")}
        )
        period = await period_steps.open_period(request, who.user, project_id, body)
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await project_page(request, who, project_id, refusal, form, "period")
    return RedirectResponse(f"/billing-periods/{period.id}", status_code=303)


# -- a commitment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitmentPage:
    commitment: CommitmentPublic
    summary: BillingSummary
    project: ProjectPublic
    pay_apps: list[PayAppListed]
    credits: list[CreditEntryPublic]
    history: History


def load_commitment(
    session: Session, who: SignedIn, commitment_id: str, history: str | None
) -> CommitmentPage:
    commitment = commitments.get_commitment(session, who.user, commitment_id)
    return CommitmentPage(
        commitment,
        summaries.billing_summary(session, who.user, commitment_id),
        projects.get_project(session, who.user, commitment.project_id),
        lists.pay_apps(session, who.user, commitment_id=commitment_id, limit=MAX_LIMIT).items,
        summaries.credits(session, who.user, commitment_id),
        history_of(session, who, "commitment", commitment_id, history),
    )


@router.get("/commitments/{commitment_id}", response_class=HTMLResponse)
async def show_commitment(
    request: Request, commitment_id: str, who: Staff, history: str = ""
) -> Response:
    return await commitment_page(request, who, commitment_id, history=history)


async def commitment_page(
    request: Request,
    who: SignedIn,
    commitment_id: str,
    refusal: DomainError | None = None,
    entered: dict[str, str] | None = None,
    form_name: str = "",
    *,
    history: str = "",
) -> Response:
    try:
        shown = await reading(
            engine_of(request), lambda s: load_commitment(s, who, commitment_id, history or None)
        )
    except NotFound:
        return notice(request, who, 404, "This commitment is not available")
    # The draft SOV's form: a row per line as entered (or as it stands), and blank rows to add.
    lines = len(shown.commitment.sov_lines)
    if entered and form_name == "sov":
        lines = rows_of(entered) - SOV_BLANK_ROWS
    context = {
        "commitment": shown.commitment,
        "summary": shown.summary,
        "project": shown.project,
        "pay_apps": shown.pay_apps,
        "credits": shown.credits,
        "history": shown.history,
        "is_admin": shown.project.your_role == StaffRole.ADMIN,
        "currency": shown.project.currency,
        "words": words(Terminology(shown.project.terminology)),
        "change_order_rows": range(CHANGE_ORDER_ROWS),
        "sov_rows": range(max(lines, 0) + SOV_BLANK_ROWS),
        "form_name": form_name,
        "entered": entered or {},
    }
    return form_page(request, "commitment.html", context, who, refusal)


@router.get("/commitments/{commitment_id}/billing-report.{extension}")
async def billing_report(
    request: Request, commitment_id: str, extension: str, who: Staff
) -> Response:
    """The commitment page's billing report downloads, as the API's."""
    if extension not in ("pdf", "csv"):
        return notice(request, who, 404, "This report is not available")
    try:
        return await billing_report_download(engine_of(request), who.user, commitment_id, extension)
    except NotFound:
        return notice(request, who, 404, "This commitment is not available")


SOV_BLANK_ROWS = 3  # blank rows under a draft SOV's lines, to add lines
SOV_MAX_ROWS = 2000  # as many lines as the API takes


def rows_of(form: dict[str, str]) -> int:
    """How many rows the SOV form posted."""
    posted = form.get("sov_rows", "")
    return min(int(posted), SOV_MAX_ROWS) if posted.isdigit() else 0


@router.post("/commitments/{commitment_id}/sov")
async def replace_sov(request: Request, commitment_id: str, who: Staff) -> Response:
    """Save a draft SOV as the form has it: each row kept, changed or removed, and the blank
    rows filled in added (the API's ``PUT .../sov``). Its draws stay as they are."""
    form = await form_of(request, who)
    rows = range(rows_of(form))
    lines = [
        {
            "code": form.get(f"sov-code-{row}", "").strip(),
            "description": form.get(f"sov-description-{row}", "").strip(),
            "scheduled_value": typed(form.get(f"sov-value-{row}", "")),
            "retainage_percent": form.get(f"sov-retainage-{row}", "").strip() or None,
        }
        for row in rows
        if form.get(f"sov-remove-{row}") != "yes"
        and (form.get(f"sov-code-{row}", "").strip() or form.get(f"sov-value-{row}", "").strip())
    ]

    def save(session: Session) -> None:
        draws = [
            {"name": draw.name, "amount": draw.amount}
            for draw in commitments.get_commitment(session, who.user, commitment_id).draws
        ]
        body = read_form(SovReplace, {"sov_lines": lines, "draws": draws})
        commitments.replace_sov(session, who.user, commitment_id, body)

    try:
        await in_transaction(engine_of(request), save)
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await commitment_page(request, who, commitment_id, refusal, form, "sov")
    return RedirectResponse(f"/commitments/{commitment_id}#sov", status_code=303)


@router.post("/commitments/{commitment_id}/credits")
async def add_credit(request: Request, commitment_id: str, who: Staff) -> Response:
    """A deposit or advance the GC holds for the commitment (the API's ``POST .../credits``);
    a pay app is later paid from it with the credit balance method."""
    form = await form_of(request, who)
    data = {"amount": typed(form.get("credit-amount", "")), "memo": form.get("credit-memo", "")}
    try:
        body = read_form(CreditCreate, data)
        await in_transaction(
            engine_of(request), lambda s: pay_apps.credit(s, who.user, commitment_id, body)
        )
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await commitment_page(request, who, commitment_id, refusal, form, "credit")
    return RedirectResponse(f"/commitments/{commitment_id}#credits", status_code=303)


@router.post("/commitments/{commitment_id}/sov/approve")
async def approve_sov(request: Request, commitment_id: str, who: Staff) -> Response:
    await form_of(request, who)
    try:
        await in_transaction(
            engine_of(request), lambda s: commitments.approve_sov(s, who.user, commitment_id)
        )
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await commitment_page(request, who, commitment_id, refusal)
    return RedirectResponse(f"/commitments/{commitment_id}", status_code=303)


CHANGE_ORDER_ROWS = 3  # lines on the change-order form


@router.post("/commitments/{commitment_id}/change-orders")
async def add_change_order(request: Request, commitment_id: str, who: Staff) -> Response:
    """A change order of a few lines: each adds to (or deducts from) an existing SOV line, or
    adds a new line by its code; approved at once, or pending until approved."""
    form = await form_of(request, who)
    lines = []
    for row in range(CHANGE_ORDER_ROWS):
        amount = form.get(f"co-amount-{row}", "").strip().replace(",", "").lstrip("$")
        existing = form.get(f"co-line-{row}", "")
        if not amount:
            continue
        line: dict[str, str] = {"amount": amount}
        if existing == "new":
            line["code"] = form.get(f"co-code-{row}", "").strip()
            line["description"] = form.get(f"co-description-{row}", "").strip()
        else:
            line["sov_line_id"] = existing
        lines.append(line)
    data = {
        "number": form.get("co-number", "").strip(),
        "title": form.get("co-title", "").strip(),
        "status": form.get("co-status", "approved"),
        "lines": lines,
    }
    try:
        body = read_form(ChangeOrderCreate, data)
        await in_transaction(
            engine_of(request),
            lambda s: commitments.add_change_order(s, who.user, commitment_id, body),
        )
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await commitment_page(request, who, commitment_id, refusal, form)
    return RedirectResponse(f"/commitments/{commitment_id}#change-orders", status_code=303)


@router.post("/commitments/{commitment_id}/change-orders/{change_order_id}/approve")
async def approve_change_order(
    request: Request, commitment_id: str, change_order_id: str, who: Staff
) -> Response:
    await form_of(request, who)
    try:
        await in_transaction(
            engine_of(request),
            lambda s: commitments.approve_change_order(s, who.user, commitment_id, change_order_id),
        )
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await commitment_page(request, who, commitment_id, refusal)
    return RedirectResponse(f"/commitments/{commitment_id}#change-orders", status_code=303)


@router.post("/projects/{project_id}/settings")
async def change_settings(request: Request, project_id: str, who: Staff) -> Response:
    """The project's settings, as the API's PATCH changes them, and its monthly billing cycle,
    as the API's ``PUT .../billing-cycle`` sets it (with its Temporal Schedule) when it changed."""
    form = await form_of(request, who)
    offsets = [part.strip() for part in form.get("reminder_offsets_days", "").split(",")]
    data = {
        "default_retainage_percent": form.get("default_retainage_percent", "").strip().rstrip("%"),
        "overbilling_policy": form.get("overbilling_policy", ""),
        "stored_materials_rollover": form.get("stored_materials_rollover") == "yes",
        "reminder_offsets_days": [part for part in offsets if part],
        "terminology": form.get("terminology", ""),
        "currency": form.get("currency", "").strip().upper(),
        "required_lien_waivers": [kind for kind in WaiverKind if form.get(f"waiver-{kind}")],
        "notary_required": form.get("notary_required") == "yes",
    }
    engine = engine_of(request)

    def save(session: Session, cycle_changed: bool) -> None:
        projects.update_settings(session, who.user, project_id, body)
        if cycle_changed:
            projects.set_billing_cycle(session, who.user, project_id, cycle)

    try:
        body = read_form(ProjectSettings, data)
        before = await reading(engine, lambda s: projects.get_project(s, who.user, project_id))
        cycle = read_form(
            BillingCycle,
            {
                "enabled": form.get("cycle_enabled") == "yes",
                "start_day": form.get("cycle_start_day", "").strip()
                or before.billing_cycle.start_day,
                "due_day": form.get("cycle_due_day", "").strip() or before.billing_cycle.due_day,
            },
        )
        cycle_changed = before.billing_cycle != cycle
        # The schedule needs Temporal: reach it before anything is written.
        temporal = await get_temporal(request) if cycle_changed else None
        await in_transaction(engine, lambda s: save(s, cycle_changed))
        if temporal is not None:
            await sync_billing_cycle(temporal, settings_of(request), project_id, cycle)
    except DomainError as refusal:
        if shown := refused_page(request, who, refusal):
            return shown
        return await project_page(request, who, project_id, refusal, form, "settings")
    return RedirectResponse(f"/projects/{project_id}#settings", status_code=303)
