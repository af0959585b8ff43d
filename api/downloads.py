"""Files as answers, shared by the API and the pages: a backup document or an export is always
a download (``Content-Disposition: attachment``) with the type Paydraw decided from its content,
never sniffed by the browser and never rendered as a page of this site."""

from fastapi import UploadFile
from fastapi.responses import Response, StreamingResponse

from paydraw.attachments.content import content_disposition
from paydraw.attachments.service import Upload
from paydraw.attachments.storage import Storage
from paydraw.db.tables import PayAppAttachment
from paydraw.exports.service import Export

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Opened anyway (a PDF viewer, say), the answer runs no script and reaches nothing.
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
}


def attachment_download(storage: Storage, row: PayAppAttachment) -> Response:
    headers = HEADERS | {
        "Content-Disposition": content_disposition(row.name),
        "Content-Length": str(row.size),
    }
    return StreamingResponse(
        storage.chunks(row.storage_key), media_type=row.content_type, headers=headers
    )


def export_download(export: Export) -> Response:
    headers = HEADERS | {"Content-Disposition": content_disposition(export.filename)}
    return Response(export.content, media_type=export.content_type, headers=headers)


def upload_of(file: UploadFile) -> Upload:
    return Upload(name=file.filename or "", file=file.file)
