"""Files as answers, shared by the API and the pages: a backup document, an export, the G702/G703
of a pay app and a commitment's billing report. Always a download (``Content-Disposition:
attachment``) with the type Paydraw decided, never sniffed by the browser and never rendered as a
page of this site."""

from collections.abc import Callable
from typing import Any

import anyio
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.datastructures import UploadFile

from api.reads import reading
from paydraw.actors import Actor
from paydraw.attachments.content import KINDS, content_disposition
from paydraw.attachments.service import Upload
from paydraw.attachments.storage import Storage
from paydraw.commitments import report
from paydraw.db.tables import PayAppAttachment
from paydraw.exports.service import Export
from paydraw.pay_apps import certificate_pdf

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


# -- papers -----------------------------------------------------------------------------------

PDF = "application/pdf"
CSV = "text/csv; charset=utf-8"


def responses(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of a download: a file, not JSON."""
    schema = {"type": "string", "format": "binary"} if media_type == PDF else {"type": "string"}
    return {
        200: {"content": {media_type.split(";")[0]: {"schema": schema}}, "description": description}
    }


G702_RESPONSES = responses(
    PDF, "The G702/G703: a certified pay app's kept certificate, any other's preview marked DRAFT"
)


def download(content: bytes | str, media_type: str, file_name: str) -> Response:
    """A paper Paydraw named itself (ASCII letters, digits and dashes)."""
    headers = HEADERS | {"Content-Disposition": f'attachment; filename="{file_name}"'}
    return Response(content=content, media_type=media_type, headers=headers)


async def g702_download(
    engine: Engine, pay_app_id: str, may_see: Callable[[Session], Any]
) -> Response:
    """The pay app's G702/G703 as a download, once `may_see` (which raises NotFound for a caller
    who may not see it) has let it through."""

    def name(session: Session) -> str:
        may_see(session)
        return certificate_pdf.file_name(session, pay_app_id)

    file_name = await reading(engine, name)
    pdf = await anyio.to_thread.run_sync(certificate_pdf.g702_pdf, engine, pay_app_id)
    return download(pdf, PDF, file_name)


REPORT_PDF_RESPONSES = responses(
    PDF, "Every pay app with what was certified, retainage held and released, paid and owed"
)
REPORT_CSV_RESPONSES = responses(
    CSV, "The billing report's pay apps as CSV, money as plain decimals, and a total row"
)


async def billing_report_download(
    engine: Engine, actor: Actor, commitment_id: str, extension: str
) -> Response:
    """The commitment's billing report as a PDF or CSV download (NotFound for a caller without a
    role on its project)."""
    made = await reading(
        engine, lambda session: report.billing_report(session, actor, commitment_id)
    )
    if extension == "csv":
        return download(report.as_csv(made), CSV, report.file_name(made, "csv"))
    pdf = await anyio.to_thread.run_sync(report.as_pdf, made)
    return download(pdf, PDF, report.file_name(made, "pdf"))
