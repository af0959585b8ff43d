"""Files as answers, shared by the API and the pages: a backup document or an export is always
a download (``Content-Disposition: attachment``) with the type Paydraw decided from its content,
never sniffed by the browser and never rendered as a page of this site."""

from typing import Any

from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from paydraw.attachments.content import KINDS, content_disposition
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


BINARY = {"schema": {"type": "string", "format": "binary"}}
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as a download, with the type read from its content",
        "content": {kind.content_type.split(";")[0]: BINARY for kind in KINDS.values()},
    }
}


def file_of(content_type: str) -> dict[int | str, dict[str, Any]]:
    """An export's answer, for the API's documentation."""
    return {200: {"description": "A download", "content": {content_type: BINARY}}}


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
