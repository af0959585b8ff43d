"""Invoice-contact endpoints: the signed link from the invite email is the bearer token.

Everything is scoped to the one commitment and period in the token; anything else is a 404.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from api.deps import SessionDep, SettingsDep, bearer, unauthorized
from api.process import UpdateId
from api.reads import looking_up
from api.steps import DECLINE_REASON_MAX_LENGTH, answer, pay_app_response, send_step
from paydraw.contacts import service
from paydraw.contacts.tokens import ContactClaim, InvalidToken, verify
from paydraw.domain.errors import NotFound
from paydraw.domain.transitions import PayAppAction, Role
from paydraw.fields import Text
from paydraw.logs import note
from paydraw.pay_apps import service as pay_app_service
from paydraw.pay_apps.schemas import PayAppCreate, PayAppKind, PayAppPublic, ProgressLinesEdit
from paydraw.periods.schemas import ContactInvitation
from workflows.messages import InvitationView, PayAppStep

router = APIRouter(prefix="/api/v1/contact", tags=["invoice contact"])


async def current_contact(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ContactClaim:
    if credentials is None:
        raise unauthorized("missing bearer token: use the link from your invite email")
    try:
        claim = verify(settings, credentials.credentials)
    except InvalidToken as error:
        raise unauthorized(str(error)) from None
    note(actor=f"contact:{claim.email}")
    return claim


CurrentContact = Annotated[ContactClaim, Depends(current_contact)]


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


async def contact_step(
    request: Request, contact: ContactClaim, key: str, **fields: Any
) -> Response:
    """Send a step on the contact's own pay app to the commitment's billing workflow."""
    step = PayAppStep(
        commitment_id=contact.commitment_id,
        period_id=contact.period_id,
        actor=f"contact:{contact.email}",
        role=Role.CONTACT,
        **fields,
    )
    return pay_app_response(await send_step(request, step, key))


@router.put(
    "/pay-app/lines",
    response_model=PayAppPublic,
    responses={201: {"model": PayAppPublic, "description": "The first call: the draft created"}},
)
async def fill_pay_app(
    body: ProgressLinesEdit, request: Request, contact: CurrentContact, key: UpdateId
) -> Response:
    """Fill in this period's pay app: the first call creates the draft, later calls edit it."""
    engine: Engine = request.app.state.engine
    existing = await looking_up(
        engine, lambda session: service.pay_app_to_change(session, contact, "bill in")
    )
    note(pay_app_id=existing.pay_app_id, project_id=existing.project_id)
    if existing.pay_app_id is None:
        create = PayAppCreate(kind=PayAppKind.PROGRESS, **body.model_dump())
        return await contact_step(request, contact, key, action="create", create=create)
    return await contact_step(
        request,
        contact,
        key,
        action=PayAppAction.EDIT_LINES,
        pay_app_id=existing.pay_app_id,
        lines=body,
    )


@router.post("/pay-app/submit", response_model=PayAppPublic)
async def submit_pay_app(request: Request, contact: CurrentContact, key: UpdateId) -> Response:
    """Submit the pay app for review (or resubmit it after a send-back)."""
    engine: Engine = request.app.state.engine
    existing = await looking_up(
        engine, lambda session: service.pay_app_to_change(session, contact, "submit")
    )
    if existing.pay_app_id is None:
        raise NotFound("no pay app yet for this period: fill in its lines to start one")
    note(pay_app_id=existing.pay_app_id, project_id=existing.project_id)
    action = (
        PayAppAction.RESUBMIT
        if existing.pay_app_status == "revise_and_resubmit"
        else PayAppAction.SUBMIT
    )
    return await contact_step(request, contact, key, action=action, pay_app_id=existing.pay_app_id)
