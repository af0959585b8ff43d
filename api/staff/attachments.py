"""Staff endpoints for a pay app's backup documents: attach (multipart), list, download,
remove.

A file goes straight to the attachments service, not through the commitment's workflow: its
bytes do not belong in a Temporal payload (2 MB at most by default), and keeping it is no step
of the pay app's life. The service writes the object first and its row second, in one
transaction that locks the commitment as the workflow's steps do (README, "Backup documents").
"""

import anyio
from fastapi import APIRouter, File, Response, UploadFile, status

from api.deps import CurrentUser, EngineDep, LimitsDep, StorageDep
from api.downloads import DOWNLOAD, attachment_download, upload_of
from api.reads import reading
from paydraw.attachments import service
from paydraw.attachments.schemas import AttachmentList, AttachmentPublic

router = APIRouter(prefix="/api/v1/pay-apps/{pay_app_id}/attachments", tags=["attachments"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def attach(
    pay_app_id: str,
    user: CurrentUser,
    engine: EngineDep,
    storage: StorageDep,
    limits: LimitsDep,
    file: UploadFile = File(description="PDF, PNG, JPEG, HEIC, xlsx, CSV or text"),
) -> AttachmentPublic:
    """Attach a backup document (invoice, delivery ticket, photo, spreadsheet)."""
    caller = service.Caller(user)
    upload = upload_of(file)
    return await anyio.to_thread.run_sync(
        service.attach, engine, storage, limits, caller, pay_app_id, upload
    )


@router.get("")
async def list_attachments(
    pay_app_id: str, user: CurrentUser, engine: EngineDep, limits: LimitsDep
) -> AttachmentList:
    """The pay app's files: who added each and when, and the caps."""
    caller = service.Caller(user)
    return await reading(engine, lambda s: service.listing(s, caller, pay_app_id, limits))


@router.get("/{attachment_id}", response_class=Response, responses=DOWNLOAD)
async def download(
    pay_app_id: str, attachment_id: str, user: CurrentUser, engine: EngineDep, storage: StorageDep
) -> Response:
    """Download one file (always as an attachment, never shown inline)."""
    caller = service.Caller(user)
    row = await reading(engine, lambda s: service.found(s, caller, pay_app_id, attachment_id))
    return attachment_download(storage, row)


@router.delete("/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove(
    pay_app_id: str, attachment_id: str, user: CurrentUser, engine: EngineDep, storage: StorageDep
) -> Response:
    """Remove a file, until the pay app is finalized (audited)."""
    caller = service.Caller(user)
    await anyio.to_thread.run_sync(
        service.remove, engine, storage, caller, pay_app_id, attachment_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
