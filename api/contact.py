"""Invoice-contact endpoints: the signed link from the invite email is the bearer token.

Everything is scoped to the one commitment and period in the token; anything else is a 404.
"""

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentContact, SessionDep
from api.lien_waiver_files import pdf_response
from api.process import UpdateId
from api.steps import (
    DECLINE_REASON_MAX_LENGTH,
    answer,
    contact_fill,
    contact_submit,
    pay_app_response,
)
from paydraw.contacts import service
from paydraw.contacts.schemas import ContactInvitation
from paydraw.domain.errors import NotFound
from paydraw.domain.transitions import Role
from paydraw.domain.waivers import WaiverKind
from paydraw.fields import Text
from paydraw.pay_apps import service as pay_app_service
from paydraw.pay_apps.schemas import PayAppPublic, ProgressLinesEdit
from paydraw.waivers import service as waivers
from paydraw.waivers.schemas import LienWaiverPublic, PayAppLienWaivers, WaiverSignature
from workflows.messages import InvitationView

router = APIRouter(prefix="/api/v1/contact", tags=["invoice contact"])


class DeclineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(min_length=1, max_length=DECLINE_REASON_MAX_LENGTH)]


@router.get("/invitation")
def get_invitation(session: SessionDep, contact: CurrentContact) -> ContactInvitation:
    """Your commitment, its schedule of values, what was billed before, and the due date."""
    return service.invitation_for(session, contact)


@router.post("/invitation/accept")
async def accept(request: Request, contact: CurrentContact, update_id: UpdateId) -> InvitationView:
    """Accept the invite to bill for this period."""
    return await answer(request, contact, True, update_id)


@router.post("/invitation/decline")
async def decline(
    request: Request, decline: DeclineRequest, contact: CurrentContact, update_id: UpdateId
) -> InvitationView:
    """Decline the invite to bill, with a reason; the GC's admins are emailed."""
    return await answer(request, contact, False, update_id, decline.reason)


@router.get("/pay-app")
def get_pay_app(session: SessionDep, contact: CurrentContact) -> PayAppPublic:
    """Your pay app for this period: G703 lines, G702 summary, status and payments."""
    _, pay_app = service.live_pay_app(session, contact)
    if pay_app is None:
        raise NotFound("no pay app yet for this period: fill in its lines to start one")
    return pay_app_service.get(session, Role.CONTACT, pay_app.id)


@router.put(
    "/pay-app/lines",
    response_model=PayAppPublic,
    responses={201: {"model": PayAppPublic, "description": "The first call: the draft created"}},
)
async def fill_pay_app(
    body: ProgressLinesEdit, request: Request, contact: CurrentContact, key: UpdateId
) -> Response:
    """Fill in this period's pay app: the first call creates the draft, later calls edit it."""
    return pay_app_response(await contact_fill(request, contact, key, body))


@router.post("/pay-app/submit", response_model=PayAppPublic)
async def submit_pay_app(request: Request, contact: CurrentContact, key: UpdateId) -> Response:
    """Submit the pay app for review (or resubmit it after a send-back)."""
    return pay_app_response(await contact_submit(request, contact, key))


@router.get("/lien-waivers")
def get_lien_waivers(session: SessionDep, contact: CurrentContact) -> list[PayAppLienWaivers]:
    """The lien waivers the GC requires of your pay apps this period: signed, waived, missing."""
    return waivers.for_contact(session, contact)


@router.post("/pay-apps/{pay_app_id}/lien-waivers/{kind}/sign")
def sign_lien_waiver(
    pay_app_id: str,
    kind: WaiverKind,
    body: WaiverSignature,
    request: Request,
    session: SessionDep,
    contact: CurrentContact,
) -> LienWaiverPublic:
    """Sign the drafted waiver: your typed name, title and the date are your signature."""
    address = request.client.host if request.client else ""
    return waivers.sign(session, contact, pay_app_id, kind, body, address)


@router.get(
    "/lien-waivers/{waiver_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The signed PDF"}},
)
def download_lien_waiver(waiver_id: str, session: SessionDep, contact: CurrentContact) -> Response:
    """A lien waiver you signed, as you signed it."""
    return pdf_response(*waivers.pdf_for_contact(session, contact, waiver_id))
