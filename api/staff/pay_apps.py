"""Staff endpoints for pay applications: create on behalf, edit, submit, review, finalize,
pay, void. Every action is a Workflow Update on the commitment's billing workflow."""

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status

from api.deps import CurrentUser, EngineDep, SessionDep, SettingsDep
from api.downloads import G702_RESPONSES, g702_download
from api.process import UpdateId
from api.steps import act, create_on_behalf_of, pay_app_response, submit_or_resubmit
from paydraw.domain.errors import InvalidInput
from paydraw.domain.transitions import PayAppAction
from paydraw.fields import Text
from paydraw.pay_apps import service
from paydraw.pay_apps.schemas import (
    PayAppCreate,
    PayAppDetailsEdit,
    PayAppLinesEdit,
    PayAppPublic,
    PaymentCreate,
    Review,
)

router = APIRouter(prefix="/api/v1", tags=["pay applications"])


@router.post(
    "/billing-periods/{period_id}/commitments/{commitment_id}/pay-apps",
    status_code=status.HTTP_201_CREATED,
    response_model=PayAppPublic,
)
async def create_on_behalf(
    period_id: str,
    commitment_id: str,
    body: PayAppCreate,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: CurrentUser,
    update_id: UpdateId,
) -> Response:
    """Create the period's pay app for a commitment, on its invoice contact's behalf."""
    answer = await create_on_behalf_of(request, user, period_id, commitment_id, body, update_id)
    return pay_app_response(answer)


@router.get("/pay-apps/{pay_app_id}")
def get_pay_app(pay_app_id: str, session: SessionDep, user: CurrentUser) -> PayAppPublic:
    """G703 lines, the G702 summary, status, payments and what you may do next."""
    role, _ = service.locate(session, user.id, pay_app_id)
    return service.get(session, role, pay_app_id)


@router.get("/pay-apps/{pay_app_id}/g702.pdf", response_class=Response, responses=G702_RESPONSES)
async def g702_pdf(pay_app_id: str, engine: EngineDep, user: CurrentUser) -> Response:
    """The G702/G703 as PDF: once certified, the certificate as it was kept; before, a preview
    marked DRAFT on every page."""
    return await g702_download(
        engine, pay_app_id, lambda session: service.locate(session, user.id, pay_app_id)
    )


@router.put("/pay-apps/{pay_app_id}/lines", response_model=PayAppPublic)
async def edit_lines(
    pay_app_id: str, body: PayAppLinesEdit, request: Request, user: CurrentUser, key: UpdateId
) -> Response:
    """Change the amounts of a draft, or of a pay app sent back for revision."""
    return pay_app_response(
        await act(request, user, pay_app_id, PayAppAction.EDIT_LINES, key, lines=body)
    )


@router.patch("/pay-apps/{pay_app_id}", response_model=PayAppPublic)
async def edit_details(
    pay_app_id: str, body: PayAppDetailsEdit, request: Request, user: CurrentUser, key: UpdateId
) -> Response:
    """Notes, attachments and due terms; editable until the pay app is finalized."""
    return pay_app_response(
        await act(request, user, pay_app_id, PayAppAction.EDIT_DETAILS, key, details=body)
    )


@router.delete("/pay-apps/{pay_app_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_draft(
    pay_app_id: str, request: Request, user: CurrentUser, key: UpdateId
) -> Response:
    """Delete a draft; its amounts become billable again (audited)."""
    await act(request, user, pay_app_id, PayAppAction.DELETE, key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/pay-apps/{pay_app_id}/submit", response_model=PayAppPublic)
async def submit(pay_app_id: str, request: Request, user: CurrentUser, key: UpdateId) -> Response:
    """Submit a draft, or resubmit one sent back, for review; the reviewers are emailed."""
    return pay_app_response(await act(request, user, pay_app_id, submit_or_resubmit, key))


@router.post("/pay-apps/{pay_app_id}/review", response_model=PayAppPublic)
async def review(
    pay_app_id: str, body: Review, request: Request, user: CurrentUser, key: UpdateId
) -> Response:
    """Approve, approve as noted (adjusted amounts with notes), or send back with reasons."""
    action = PayAppAction(body.decision.value)
    return pay_app_response(await act(request, user, pay_app_id, action, key, review=body))


@router.post("/pay-apps/{pay_app_id}/finalize", response_model=PayAppPublic)
async def finalize(pay_app_id: str, request: Request, user: CurrentUser, key: UpdateId) -> Response:
    """Lock the pay app and issue its G702 certificate; "ready for payment" is emailed."""
    return pay_app_response(await act(request, user, pay_app_id, PayAppAction.FINALIZE, key))


@router.post("/pay-apps/{pay_app_id}/payments", response_model=PayAppPublic)
async def record_payment(
    pay_app_id: str, body: PaymentCreate, request: Request, user: CurrentUser, key: UpdateId
) -> Response:
    """Record a payment (never above what is still due)."""
    return pay_app_response(
        await act(request, user, pay_app_id, PayAppAction.PAY_PART, key, payment=body)
    )


@router.post("/pay-apps/{pay_app_id}/void", response_model=PayAppPublic)
async def void(
    pay_app_id: str,
    reason: Annotated[Text, Body(embed=True, min_length=1, max_length=2000)],
    request: Request,
    user: CurrentUser,
    key: UpdateId,
) -> Response:
    """Void an approved or finalized pay app with no payment; its amounts become billable."""
    if not reason.strip():
        raise InvalidInput("reason", "a reason is required to void")
    return pay_app_response(
        await act(request, user, pay_app_id, PayAppAction.VOID, key, reason=reason)
    )
