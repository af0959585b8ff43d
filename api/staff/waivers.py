"""Staff endpoints for lien waivers: what a pay app needs, an admin's exemption, the signed
PDF."""

from fastapi import APIRouter, Response

from api.deps import CurrentUser, SessionDep
from api.lien_waiver_files import pdf_response
from paydraw.domain.waivers import WaiverKind
from paydraw.waivers import service
from paydraw.waivers.schemas import PayAppLienWaivers, WaiverExemptionCreate

router = APIRouter(prefix="/api/v1", tags=["lien waivers"])


@router.get("/pay-apps/{pay_app_id}/lien-waivers")
def get_lien_waivers(pay_app_id: str, session: SessionDep, user: CurrentUser) -> PayAppLienWaivers:
    """The lien waivers the project requires of this pay app: signed, waived, missing."""
    return service.for_staff(session, user, pay_app_id)


@router.post("/pay-apps/{pay_app_id}/lien-waivers/{kind}/waive")
def waive_lien_waiver(
    pay_app_id: str,
    kind: WaiverKind,
    body: WaiverExemptionCreate,
    session: SessionDep,
    user: CurrentUser,
) -> PayAppLienWaivers:
    """Waive one required lien waiver for this pay app, with a reason (admins; audited)."""
    return service.waive(session, user, pay_app_id, kind, body)


@router.get(
    "/lien-waivers/{waiver_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The signed PDF"}},
)
def download_lien_waiver(waiver_id: str, session: SessionDep, user: CurrentUser) -> Response:
    """The signed lien waiver as it was signed (its SHA-256 is in the audit trail)."""
    return pdf_response(*service.pdf_for_staff(session, user, waiver_id))
