"""The pages' side of backup documents and exports: the upload forms of the staff's pay-app
page and the contact's page, their download and remove links, and the CSV and .xlsx links of the
pay-app page and the board.

The staff are known by their session cookie (their forms carry its CSRF token), the contact by
the signed token of their link; both reach the same services as the JSON API, with the same 404s.
A refused upload answers with a page saying why (the field and the reason) and a way back.
"""

from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from api.deps import SettingsDep
from api.downloads import attachment_download, export_download, upload_of
from api.pages.html import templates
from api.pages.session import Staff, engine_of, explained, form_of
from api.reads import reading
from paydraw import actors
from paydraw.attachments import service
from paydraw.attachments.service import Caller, Limits
from paydraw.attachments.storage import Storage
from paydraw.db.tables import PayAppAttachment
from paydraw.domain.errors import DomainError, InvalidInput, NotFound
from paydraw.exports import service as exports
from paydraw.exports.service import ExportFormat
from paydraw.invitations.tokens import ContactClaim, InvalidToken, verify

router = APIRouter(tags=["pages"], include_in_schema=False)

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def storage_of(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def limits_of(request: Request) -> Limits:
    limits: Limits = request.app.state.attachment_limits
    return limits


def refused(request: Request, refusal: DomainError, back: str, back_label: str) -> Response:
    heading = "This is not available" if isinstance(refusal, NotFound) else "That was not done"
    context = {
        "heading": heading,
        "text": explained(refusal),
        "back": back,
        "back_label": back_label,
    }
    return templates.TemplateResponse(
        request,
        "attachment_refused.html",
        context,
        status_code=refusal.http_status,
        headers=HEADERS,
    )


async def uploaded_file(request: Request) -> UploadFile | None:
    file = (await request.form()).get("file")
    return file if isinstance(file, UploadFile) else None


# -- staff --------------------------------------------------------------------------------------


@router.post("/pay-apps/{pay_app_id}/attachments")
async def staff_attach(request: Request, pay_app_id: str, who: Staff) -> Response:
    """The pay-app page's upload form."""
    await form_of(request, who)
    back = f"/pay-apps/{pay_app_id}"
    file = await uploaded_file(request)
    try:
        if file is None:
            raise InvalidInput("file", "choose a file to attach")
        await anyio.to_thread.run_sync(
            service.attach,
            engine_of(request),
            storage_of(request),
            limits_of(request),
            Caller(who.user),
            pay_app_id,
            upload_of(file),
        )
    except DomainError as refusal:
        return refused(request, refusal, back, "the pay application")
    return RedirectResponse(f"{back}#attachments", status_code=303)


@router.get("/pay-apps/{pay_app_id}/attachments/{attachment_id}")
async def staff_download(
    request: Request, pay_app_id: str, attachment_id: str, who: Staff
) -> Response:
    caller = Caller(who.user)
    try:
        row = await reading(
            engine_of(request), lambda s: service.found(s, caller, pay_app_id, attachment_id)
        )
    except DomainError as refusal:
        return refused(request, refusal, "/", "your projects")
    return attachment_download(storage_of(request), row)


@router.post("/pay-apps/{pay_app_id}/attachments/{attachment_id}/remove")
async def staff_remove(
    request: Request, pay_app_id: str, attachment_id: str, who: Staff
) -> Response:
    await form_of(request, who)
    back = f"/pay-apps/{pay_app_id}"
    try:
        await anyio.to_thread.run_sync(
            service.remove,
            engine_of(request),
            storage_of(request),
            Caller(who.user),
            pay_app_id,
            attachment_id,
        )
    except DomainError as refusal:
        return refused(request, refusal, back, "the pay application")
    return RedirectResponse(f"{back}#attachments", status_code=303)


@router.get("/pay-apps/{pay_app_id}/g703.{form}")
async def staff_g703(request: Request, pay_app_id: str, form: str, who: Staff) -> Response:
    """The G703 lines of the pay-app page, as CSV or .xlsx."""
    try:
        export_format = export_format_of(form)
        export = await reading(
            engine_of(request),
            lambda s: exports.pay_app_g703(s, who.user, pay_app_id, export_format),
        )
    except DomainError as refusal:
        return refused(request, refusal, "/", "your projects")
    return export_download(export)


@router.get("/billing-periods/{period_id}/board.{form}")
async def staff_board(request: Request, period_id: str, form: str, who: Staff) -> Response:
    """The board, as CSV or .xlsx."""
    try:
        export_format = export_format_of(form)
        export = await reading(
            engine_of(request), lambda s: exports.board(s, who.user, period_id, export_format)
        )
    except DomainError as refusal:
        return refused(request, refusal, "/", "your projects")
    return export_download(export)


def export_format_of(form: str) -> ExportFormat:
    try:
        return ExportFormat(form)
    except ValueError:
        raise NotFound(f"no export as .{form}: csv or xlsx") from None


# -- the invoice contact ------------------------------------------------------------------------


def claim_of(settings: SettingsDep, token: str) -> ContactClaim:
    try:
        return verify(settings, token)
    except InvalidToken as invalid:
        raise HTTPException(status_code=401, detail=str(invalid)) from None


def contact_caller(claim: ContactClaim) -> Caller:
    return Caller(actors.contact(claim.email), claim)


def contact_back(token: str) -> str:
    return f"/contact?{urlencode({'token': token})}"


@router.post("/contact/attachments")
async def contact_attach(request: Request, settings: SettingsDep) -> Response:
    """The contact page's upload form."""
    form = await request.form()
    token = str(form.get("token", ""))
    claim = claim_of(settings, token)
    file = await uploaded_file(request)
    engine = engine_of(request)
    try:
        if file is None:
            raise InvalidInput("file", "choose a file to attach")
        pay_app_id = await reading(engine, lambda s: service.contact_pay_app_id(s, claim))
        await anyio.to_thread.run_sync(
            service.attach,
            engine,
            storage_of(request),
            limits_of(request),
            contact_caller(claim),
            pay_app_id,
            upload_of(file),
        )
    except DomainError as refusal:
        return refused(request, refusal, contact_back(token), "your page")
    return RedirectResponse(contact_back(token) + "#attachments", status_code=303)


@router.get("/contact/attachments/{attachment_id}")
async def contact_download(
    request: Request, attachment_id: str, settings: SettingsDep, token: str = ""
) -> Response:
    claim = claim_of(settings, token)

    def row_of(session: Session) -> PayAppAttachment:
        pay_app_id = service.contact_pay_app_id(session, claim)
        return service.found(session, contact_caller(claim), pay_app_id, attachment_id)

    try:
        row = await reading(engine_of(request), row_of)
    except DomainError as refusal:
        return refused(request, refusal, contact_back(token), "your page")
    return attachment_download(storage_of(request), row)


@router.post("/contact/attachments/{attachment_id}/remove")
async def contact_remove(request: Request, attachment_id: str, settings: SettingsDep) -> Response:
    token = str((await request.form()).get("token", ""))
    claim = claim_of(settings, token)
    engine = engine_of(request)
    try:
        pay_app_id = await reading(engine, lambda s: service.contact_pay_app_id(s, claim))
        await anyio.to_thread.run_sync(
            service.remove,
            engine,
            storage_of(request),
            contact_caller(claim),
            pay_app_id,
            attachment_id,
        )
    except DomainError as refusal:
        return refused(request, refusal, contact_back(token), "your page")
    return RedirectResponse(contact_back(token) + "#attachments", status_code=303)


@router.get("/contact/g703.{form}")
async def contact_g703(
    request: Request, form: str, settings: SettingsDep, token: str = ""
) -> Response:
    """The contact's pay app's G703 lines, as CSV or .xlsx."""
    claim = claim_of(settings, token)
    try:
        export_format = export_format_of(form)
        export = await reading(
            engine_of(request), lambda s: exports.contact_g703(s, claim, export_format)
        )
    except DomainError as refusal:
        return refused(request, refusal, contact_back(token), "your page")
    return export_download(export)
