"""Papers served as downloads, for the API and the pages alike: the G702/G703 of a pay app and a
commitment's billing report. Always an attachment with its own file name, never shown inline."""

from collections.abc import Callable
from typing import Any

import anyio
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlmodel import Session

from api.reads import reading
from paydraw.actors import Actor
from paydraw.commitments import report
from paydraw.pay_apps import certificate_pdf

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
    return Response(
        content=content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{file_name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


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
