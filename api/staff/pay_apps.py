"""Staff endpoints for pay applications: create on behalf, edit, submit, review, finalize,
pay, void. Every action is a Workflow Update on the commitment's billing workflow."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response, status
from sqlmodel import Session

from api.deps import CurrentUser, EngineDep, SessionDep, SettingsDep
from api.process import UpdateId, get_temporal, workflow_update
from api.reads import looking_up
from api.steps import act, pay_app_response, send_step, start_operation, submit_or_resubmit
from paydraw.access import ADMIN_ONLY, commitment_for
from paydraw.domain.errors import InvalidInput, NotFound
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
from paydraw.periods import service as periods
from workflows.billing_period import BillingPeriodWorkflow
from workflows.messages import OpenBilling, pay_app_step

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

    def check(session: Session) -> Any:
        _, project, role = commitment_for(
            session, user.id, commitment_id, ADMIN_ONLY, "create pay apps"
        )
        period, _ = periods.period_for(session, user, period_id)
        if period.project_id != project.id:
            raise NotFound(f"billing period {period_id} not found")
        return period, project, role

    period, project, role = await looking_up(engine, check)
    temporal = await get_temporal(request)
    await workflow_update(
        lambda: temporal.execute_update_with_start_workflow(
            BillingPeriodWorkflow.open_billing,
            OpenBilling(commitment_id=commitment_id, actor=user),
            start_workflow_operation=start_operation(settings, period, project),
        ),
        f"billing period {period_id} not found",
    )
    step = pay_app_step(
        action="create",
        commitment_id=commitment_id,
        period_id=period_id,
        actor=user,
        role=role,
        create=body,
    )
    return pay_app_response(await send_step(request, step, update_id))


@router.get("/pay-apps/{pay_app_id}")
def get_pay_app(pay_app_id: str, session: SessionDep, user: CurrentUser) -> PayAppPublic:
    """G703 lines, the G702 summary, status, payments and what you may do next."""
    role, _ = service.locate(session, user.id, pay_app_id)
    return service.get(session, role, pay_app_id)


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
