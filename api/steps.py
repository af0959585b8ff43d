"""What the endpoints of both audiences send to the billing workflows: the staff's routers, the
invoice contact's API and the contact's pages import these, and no router imports another.

Each helper resolves nothing of its own about the caller: the endpoint has checked the caller and
the object, and the workflow's validator and the activity's service decide the rest.
"""

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response, status
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from api.process import BillingEnded, get_temporal, workflow_update
from api.reads import looking_up
from paydraw import actors
from paydraw.access import ADMIN_ONLY, commitment_for
from paydraw.actors import Actor
from paydraw.contacts import service as contacts
from paydraw.db.tables import BillingPeriod, Project
from paydraw.domain.errors import InvalidInput, InvalidTransition, NotFound
from paydraw.domain.transitions import PayAppAction, PayAppStatus, Role, transition
from paydraw.invitations.tokens import ContactClaim
from paydraw.logs import note
from paydraw.pay_apps import service as pay_apps
from paydraw.pay_apps.schemas import PayAppCreate, PayAppKind, ProgressLinesEdit
from paydraw.periods import service as periods
from paydraw.periods.schemas import PeriodPublic
from paydraw.settings import Settings
from workflows.billing_period import BillingPeriodWorkflow
from workflows.commitment_billing import CommitmentBillingWorkflow, billing_handle
from workflows.ids import billing_workflow_id, period_workflow_id
from workflows.mail import DeliverEmailsWorkflow, mail_workflow_id
from workflows.messages import (
    Answer,
    InvitationView,
    InviteCommitments,
    OpenBilling,
    PayAppAnswer,
    PayAppStep,
    PeriodInput,
    PeriodView,
    billing_input,
    pay_app_step,
)

DECLINE_REASON_MAX_LENGTH = 2000


def period_input(period: BillingPeriod | PeriodPublic, project: Project) -> PeriodInput:
    return PeriodInput(
        period_id=period.id,
        project_id=project.id,
        due_date=period.due_date,
        reminder_offsets_days=project.reminder_offsets_days,
    )


def start_operation(
    settings: Settings, period: BillingPeriod, project: Project
) -> WithStartWorkflowOperation[BillingPeriodWorkflow, PeriodView]:
    """Start the period's workflow if it is not running yet, so a start lost to an outage heals
    itself on the next invite or close."""
    return WithStartWorkflowOperation(
        BillingPeriodWorkflow.run,
        period_input(period, project),
        id=period_workflow_id(period.id),
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def billing_start_operation(
    settings: Settings, period: BillingPeriod, project: Project, request: InviteCommitments
) -> WithStartWorkflowOperation[CommitmentBillingWorkflow, InvitationView]:
    """Start the commitment's billing, not yet invited, unless it runs already (the admin bills
    for it); one that ended is never started again."""
    [commitment_id] = request.commitment_ids
    return WithStartWorkflowOperation(
        CommitmentBillingWorkflow.run,
        billing_input(
            period_input(period, project),
            commitment_id,
            message=request.message,
            actor=request.actor,
            invite=False,
        ),
        id=billing_workflow_id(commitment_id, period.id),
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


async def send_step(request: Request, step: PayAppStep, key: str) -> PayAppAnswer | None:
    """Send the step to the commitment's billing workflow; a wrong-state refusal names the
    actions the pay app allows now."""
    handle = billing_handle(await get_temporal(request), step.commitment_id, step.period_id)
    try:
        return await workflow_update(
            lambda: handle.execute_update(CommitmentBillingWorkflow.pay_app, step, id=key),
            f"pay app {step.pay_app_id or ''} not found",
        )
    except BillingEnded:
        raise
    except InvalidTransition as refusal:
        pay_app_id = step.pay_app_id
        if pay_app_id is None or refusal.subject != "a pay app":
            raise
        # The workflow's transition table does not know the pay app's payments or the pay apps
        # after it; the actions named with the refusal do.
        status, allowed = await looking_up(
            request.app.state.engine, lambda session: pay_apps.actions_now_of(session, pay_app_id)
        )
        if refusal.status != status:  # refused for another reason (past due, say): as it is
            raise
        raise refusal.allowing(allowed) from None


def pay_app_response(answer: PayAppAnswer | None) -> Response:
    """The pay app as the step's activity wrote it (``PayAppPublic`` as JSON), sent as it is:
    it was priced and validated there, and reading it back into a model would change nothing.
    201 when the step created it."""
    assert answer is not None
    status_code = status.HTTP_201_CREATED if answer.created else status.HTTP_200_OK
    return Response(answer.body, status_code=status_code, media_type="application/json")


async def answer(
    request: Request, contact: ContactClaim, accept: bool, key: str, reason: str = ""
) -> InvitationView:
    """Check the token's scope in the database first, then send the update to the workflow.

    Shared by these endpoints and the contact's HTML page; ``key`` is the workflow update id, so
    a repeat with the same key answers once and returns the first result.
    """
    if len(reason) > DECLINE_REASON_MAX_LENGTH:
        raise InvalidInput("reason", f"at most {DECLINE_REASON_MAX_LENGTH} characters")
    engine: Engine = request.app.state.engine
    period = await looking_up(engine, lambda session: contacts.answerable(session, contact, accept))
    note(project_id=period.project_id)
    temporal = await get_temporal(request)
    handle = billing_handle(temporal, contact.commitment_id, contact.period_id)
    update = CommitmentBillingWorkflow.accept if accept else CommitmentBillingWorkflow.decline
    body = Answer(actor=actors.contact(contact.email), reason=reason)
    return await workflow_update(
        lambda: handle.execute_update(update, body, id=key), "invitation not found"
    )


async def contact_step(
    request: Request, contact: ContactClaim, key: str, **fields: Any
) -> PayAppAnswer | None:
    """Send a step on the contact's own pay app to the commitment's billing workflow."""
    step = pay_app_step(
        commitment_id=contact.commitment_id,
        period_id=contact.period_id,
        actor=actors.contact(contact.email),
        role=Role.CONTACT,
        **fields,
    )
    return await send_step(request, step, key)


async def contact_fill(
    request: Request, contact: ContactClaim, key: str, body: ProgressLinesEdit
) -> PayAppAnswer | None:
    """Fill in the contact's pay app for the period: the first time creates the draft, later
    times edit it. Shared by the contact's JSON API and their page."""
    engine: Engine = request.app.state.engine
    existing = await looking_up(
        engine, lambda session: contacts.pay_app_to_change(session, contact, "bill in")
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


async def contact_submit(request: Request, contact: ContactClaim, key: str) -> PayAppAnswer | None:
    """Submit the contact's pay app for review, or resubmit it after a send-back."""
    engine: Engine = request.app.state.engine
    existing = await looking_up(
        engine, lambda session: contacts.pay_app_to_change(session, contact, "submit")
    )
    if existing.pay_app_id is None:
        raise NotFound("no pay app yet for this period: fill in its lines to start one")
    note(pay_app_id=existing.pay_app_id, project_id=existing.project_id)
    action = (
        PayAppAction.RESUBMIT
        if existing.pay_app_status == PayAppStatus.REVISE_AND_RESUBMIT
        else PayAppAction.SUBMIT
    )
    return await contact_step(request, contact, key, action=action, pay_app_id=existing.pay_app_id)


ActionFor = Callable[[PayAppStatus], PayAppAction]
"""The action a request takes, from the pay app's status (submit or resubmit)."""


async def act(
    request: Request,
    user: Actor,
    pay_app_id: str,
    action: PayAppAction | ActionFor,
    key: str,
    **fields: Any,
) -> PayAppAnswer | None:
    """Resolve the caller's role and send the step to the pay app's workflow."""
    note(pay_app_id=pay_app_id)

    def locate(session: Session) -> tuple[PayAppStep, PayAppStatus, str]:
        role, pay_app = pay_apps.locate(session, user.id, pay_app_id)
        assert pay_app.period_id is not None
        status = PayAppStatus(pay_app.status)
        chosen = action if isinstance(action, PayAppAction) else action(status)
        step = pay_app_step(
            action=chosen,
            commitment_id=pay_app.commitment_id,
            period_id=pay_app.period_id,
            pay_app_id=pay_app_id,
            actor=user,
            role=role,
            **fields,
        )
        return step, status, pay_app.project_id

    step, status, project_id = await looking_up(request.app.state.engine, locate)
    note(project_id=project_id)
    try:
        return await send_step(request, step, key)
    except (BillingEnded, NotFound):
        # The workflow decides while it runs; once the pay app's billing has ended (void, paid,
        # or its period closed: the workflow is done, or already gone) the transition table
        # says why. A resend of a request that did act reaches the workflow first, and gets
        # that request's answer.
        transition(status, PayAppAction(step.action), Role(step.role))
        raise BillingEnded() from None


def submit_or_resubmit(status: PayAppStatus) -> PayAppAction:
    if status == PayAppStatus.REVISE_AND_RESUBMIT:
        return PayAppAction.RESUBMIT
    return PayAppAction.SUBMIT


async def deliver(request: Request, outbox_id: str | None) -> None:
    """Send a queued email (a sign-in link) through its own workflow: retried while the mail
    server is away, never lost."""
    if outbox_id is None:
        return
    temporal = await get_temporal(request)
    await temporal.start_workflow(
        DeliverEmailsWorkflow.run,
        [outbox_id],
        id=mail_workflow_id(outbox_id),
        task_queue=request.app.state.settings.temporal_task_queue,
    )


async def create_on_behalf_of(
    request: Request,
    user: Actor,
    period_id: str,
    commitment_id: str,
    body: PayAppCreate,
    update_id: str,
) -> PayAppAnswer | None:
    """An admin creates the period's pay app for a commitment, on its invoice contact's behalf:
    the commitment's billing is started in the period if it was not (no invite), then the
    create step goes to it."""
    settings: Settings = request.app.state.settings

    def check(session: Session) -> tuple[BillingPeriod, Project, Role]:
        _, project, role = commitment_for(
            session, user.id, commitment_id, ADMIN_ONLY, "create pay apps"
        )
        period, _ = periods.period_for(session, user, period_id)
        if period.project_id != project.id:
            raise NotFound(f"billing period {period_id} not found")
        return period, project, role

    period, project, role = await looking_up(request.app.state.engine, check)
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
    return await send_step(request, step, update_id)
