"""The invoice contact's backup documents and export: the files of their own pay app in their
link's period, and its G703 lines as CSV or .xlsx. Outside the link's commitment and period
everything is a 404."""

import anyio
from fastapi import APIRouter, File, Response, UploadFile, status
from sqlmodel import Session

from api.deps import CurrentContact, EngineDep, LimitsDep, SessionDep, StorageDep
from api.downloads import DOWNLOAD, attachment_download, export_download, file_of, upload_of
from api.reads import reading
from paydraw import actors
from paydraw.attachments import service
from paydraw.attachments.schemas import AttachmentList, AttachmentPublic
from paydraw.db.tables import PayAppAttachment
from paydraw.exports import service as exports
from paydraw.exports.service import ExportFormat
from paydraw.exports.tables import CSV_TYPE, XLSX_TYPE
from paydraw.invitations.tokens import ContactClaim

router = APIRouter(prefix="/api/v1/contact/pay-app", tags=["invoice contact"])


def caller_of(claim: ContactClaim) -> service.Caller:
    return service.Caller(actors.contact(claim.email), claim)


@router.post("/attachments", status_code=status.HTTP_201_CREATED)
async def attach(
    contact: CurrentContact,
    engine: EngineDep,
    storage: StorageDep,
    limits: LimitsDep,
    file: UploadFile = File(description="PDF, PNG, JPEG, HEIC, xlsx, CSV or text"),
) -> AttachmentPublic:
    """Attach a backup document to your pay app for this period."""
    pay_app_id = await reading(engine, lambda s: service.contact_pay_app_id(s, contact))
    caller, upload = caller_of(contact), upload_of(file)
    return await anyio.to_thread.run_sync(
        service.attach, engine, storage, limits, caller, pay_app_id, upload
    )


@router.get("/attachments")
async def list_attachments(
    contact: CurrentContact, engine: EngineDep, limits: LimitsDep
) -> AttachmentList:
    """The files of your pay app: who added each and when."""

    def listed(session: Session) -> AttachmentList:
        pay_app_id = service.contact_pay_app_id(session, contact)
        return service.listing(session, caller_of(contact), pay_app_id, limits)

    return await reading(engine, listed)


@router.get("/attachments/{attachment_id}", response_class=Response, responses=DOWNLOAD)
async def download(
    attachment_id: str, contact: CurrentContact, engine: EngineDep, storage: StorageDep
) -> Response:
    """Download one file of your pay app."""

    def row_of(session: Session) -> PayAppAttachment:
        pay_app_id = service.contact_pay_app_id(session, contact)
        return service.found(session, caller_of(contact), pay_app_id, attachment_id)

    return attachment_download(storage, await reading(engine, row_of))


@router.delete("/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove(
    attachment_id: str, contact: CurrentContact, engine: EngineDep, storage: StorageDep
) -> Response:
    """Remove a file you attached, until the pay app is finalized."""
    pay_app_id = await reading(engine, lambda s: service.contact_pay_app_id(s, contact))
    await anyio.to_thread.run_sync(
        service.remove, engine, storage, caller_of(contact), pay_app_id, attachment_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/g703.csv", response_class=Response, responses=file_of(CSV_TYPE))
def g703_csv(session: SessionDep, contact: CurrentContact) -> Response:
    """Your pay app's G703 lines as CSV."""
    return export_download(exports.contact_g703(session, contact, ExportFormat.CSV))


@router.get("/g703.xlsx", response_class=Response, responses=file_of(XLSX_TYPE))
def g703_xlsx(session: SessionDep, contact: CurrentContact) -> Response:
    """Your pay app's G703 lines and G702 summary as an Excel workbook."""
    return export_download(exports.contact_g703(session, contact, ExportFormat.XLSX))
