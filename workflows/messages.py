"""What the billing workflows and their activities pass to each other: plain Pydantic models.

Never a table model: these cross Temporal's history, so they are small, versionable values, typed
with the domain's enums and the `Actor` model. Histories recorded before the types still read: an
actor then was its audit label (``"kind:identity"``, see paydraw.actors), and a pay-app step one
model with every payload optional (the variants below ignore the payloads they do not carry).
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from paydraw.actors import SYSTEM, Actor
from paydraw.domain.transitions import (
    InvitationAction,
    InvitationStatus,
    PayAppAction,
    PayAppStatus,
    PeriodStatus,
    Role,
)
from paydraw.pay_apps.schemas import (
    PayAppCreate,
    PayAppDetailsEdit,
    PayAppLinesEdit,
    PayAppPublic,
    PaymentCreate,
    Review,
)


class InviteCommitments(BaseModel):
    commitment_ids: list[str]
    message: str = ""
    actor: Actor


class PeriodInput(BaseModel):
    period_id: str
    project_id: str
    due_date: date
    reminder_offsets_days: list[int]
    # The monthly billing cycle opens a period and invites every eligible commitment at once.
    initial_invites: InviteCommitments | None = None


class Refusal(BaseModel):
    commitment_id: str
    reason: str


class InviteResult(BaseModel):
    invited: list[str]
    refused: list[Refusal]


class ClosePeriod(BaseModel):
    actor: Actor


class PeriodView(BaseModel):
    period_id: str
    status: PeriodStatus
    invited: int


class CommitmentBillingInput(BaseModel):
    period_id: str
    project_id: str
    commitment_id: str
    due_date: date
    reminder_offsets_days: list[int]
    message: str = ""
    invited_by: Actor
    # True: the period has recorded the invite and sends its email; False: not invited yet (the
    # admin bills on the commitment's behalf, or the admin's invite of it alone follows).
    invite: bool = True


def billing_input(
    period: PeriodInput, commitment_id: str, *, message: str, actor: Actor, invite: bool
) -> CommitmentBillingInput:
    """How a commitment's billing in ``period`` starts."""
    return CommitmentBillingInput(
        period_id=period.period_id,
        project_id=period.project_id,
        commitment_id=commitment_id,
        due_date=period.due_date,
        reminder_offsets_days=period.reminder_offsets_days,
        message=message,
        invited_by=actor,
        invite=invite,
    )


class StartBillings(BaseModel):
    """Start the billing workflows of these commitments in one period (the period's fan-out)."""

    period: PeriodInput
    commitment_ids: list[str]
    message: str = ""
    actor: Actor
    invite: bool = True
    at: datetime | None = None  # when the period invited them (the workflow's clock)


class StartedBillings(BaseModel):
    """The commitments whose billing now runs (one already ended is left out), and the invite
    emails queued for them."""

    commitment_ids: list[str]
    outbox_ids: list[str] = []


class CloseBillings(BaseModel):
    period_id: str
    commitment_ids: list[str]


class Answer(BaseModel):
    """A contact's accept or decline; ``actor`` is who answered, for the audit trail."""

    actor: Actor
    reason: str = ""


class ExtendDueDate(BaseModel):
    due_date: date
    actor: Actor


class InvitationView(BaseModel):
    period_id: str
    commitment_id: str
    status: InvitationStatus
    due_date: date
    overdue: bool
    locked: bool
    reminders_sent: list[int]
    closed: bool


class InvitationChange(BaseModel):
    """A state change of one invitation, persisted with its audit event."""

    period_id: str
    commitment_id: str
    action: InvitationAction
    to_status: InvitationStatus
    actor: Actor
    reason: str = ""
    at: datetime


class InvitationEmail(StrEnum):
    INVITE = "invite"
    REMINDER = "reminder"
    OVERDUE_NOTICE = "overdue_notice"


class InviteDelivery(BaseModel):
    """One invitation's email (first invite, a reminder, or the overdue notice)."""

    period_id: str
    commitment_id: str
    kind: InvitationEmail
    due_date: date
    message: str = ""
    days_left: int = 0
    actor: Actor = SYSTEM
    at: datetime


class OutboxIds(BaseModel):
    ids: list[str]
    # Handed to the worker's relay as they were queued (see activities.relay): the email
    # activity leaves the ones still pending to it until they are `RELAY_GRACE_SECONDS` old.
    relayed: bool = False


class CertificateToPrint(BaseModel):
    """A finalized pay app whose G702/G703 the workflow has the worker print and keep."""

    pay_app_id: str


class DueDateChange(BaseModel):
    period_id: str
    commitment_id: str
    due_date: date
    actor: Actor
    at: datetime


class PeriodClosing(BaseModel):
    period_id: str
    actor: Actor
    at: datetime


class MonthlyCycleInput(BaseModel):
    project_id: str


class MonthlyPeriod(BaseModel):
    """The period the monthly cycle opens today, and the open one it closes first (if any)."""

    project_id: str
    start_date: date
    end_date: date
    due_date: date
    still_open_period_id: str | None


class OpenedPeriod(BaseModel):
    period_id: str
    due_date: date
    reminder_offsets_days: list[int]
    eligible_commitment_ids: list[str]


class StepBase(BaseModel):
    """What every action on a pay app (or its creation) carries, as the commitment's workflow
    hands it on."""

    commitment_id: str
    period_id: str
    pay_app_id: str | None = None
    actor: Actor
    role: Role
    step_id: str = ""  # the update id: a retried activity applies the step only once


class CreateStep(StepBase):
    action: Literal["create"] = "create"
    create: PayAppCreate


class LinesStep(StepBase):
    action: Literal[PayAppAction.EDIT_LINES] = PayAppAction.EDIT_LINES
    lines: PayAppLinesEdit


class DetailsStep(StepBase):
    action: Literal[PayAppAction.EDIT_DETAILS] = PayAppAction.EDIT_DETAILS
    details: PayAppDetailsEdit


class ReviewStep(StepBase):
    action: Literal[PayAppAction.APPROVE, PayAppAction.APPROVE_AS_NOTED, PayAppAction.REVISE]
    review: Review


class PaymentStep(StepBase):
    action: Literal[PayAppAction.PAY_PART, PayAppAction.PAY_IN_FULL]
    payment: PaymentCreate


class VoidStep(StepBase):
    action: Literal[PayAppAction.VOID] = PayAppAction.VOID
    reason: str


class PlainStep(StepBase):
    """An action that carries nothing but itself."""

    action: Literal[
        PayAppAction.DELETE, PayAppAction.SUBMIT, PayAppAction.RESUBMIT, PayAppAction.FINALIZE
    ]


PayAppStep = Annotated[
    CreateStep | LinesStep | DetailsStep | ReviewStep | PaymentStep | VoidStep | PlainStep,
    Field(discriminator="action"),
]
"""One action on a pay app, or its creation: each action with the payload it needs."""

STEPS: TypeAdapter[PayAppStep] = TypeAdapter(PayAppStep)


def pay_app_step(**fields: Any) -> PayAppStep:
    """The step of ``fields["action"]``, its payload checked (a missing one is a ValueError)."""
    return STEPS.validate_python(fields)


class PayAppAnswer(BaseModel):
    """A pay-app step's answer: what the workflow keeps (the pay app's id and new status), and the
    pay app as the API answers it, as JSON text. The text is written once, by the activity that
    priced the pay app, and goes through the workflow to the HTTP caller unread."""

    pay_app_id: str
    status: PayAppStatus
    body: str  # PayAppPublic as JSON
    # The step created the pay app (a 201), on a retry or a resend too; answers recorded before
    # this field read as False.
    created: bool = False

    @classmethod
    def of(cls, pay_app: PayAppPublic, created: bool = False) -> "PayAppAnswer":
        return cls(
            pay_app_id=pay_app.id,
            status=pay_app.status,
            body=pay_app.model_dump_json(),
            created=created,
        )


class PayAppResult(BaseModel):
    answer: PayAppAnswer | None = None  # None once a draft is deleted
    outbox_ids: list[str]
    relayed: bool = False  # the emails were handed to the relay, as in OutboxIds
    # What the activity answered before `answer`: a workflow begun then reads it from its history
    # when it is replayed.
    pay_app: PayAppPublic | None = None

    @property
    def given(self) -> PayAppAnswer | None:
        """The answer, in either shape."""
        if self.answer is None and self.pay_app is not None:
            return PayAppAnswer.of(self.pay_app)
        return self.answer


class OpenBilling(BaseModel):
    """Start a commitment's billing in the period without an invite (the admin bills for it)."""

    commitment_id: str
    actor: Actor
