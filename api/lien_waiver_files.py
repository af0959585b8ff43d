"""What the staff and contact routers share for a signed lien waiver's PDF: served as a
download, never shown in place of a page, never cached by a shared cache."""

from fastapi import Response


def pdf_response(name: str, pdf: bytes) -> Response:
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
