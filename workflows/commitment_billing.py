"""One commitment's billing in one period: the invite, the answer, reminders and the due date.

Workflow id ``billing:{commitment_id}:{period_id}``. Human actions arrive as Updates whose
validators refuse a wrong-state action before it touches history; every change is persisted by an
idempotent activity (database row + audit event), and emails go through the outbox.
"""

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from activities.certificates import CertificateActivities
    from activities.relay import RELAY_GRACE, RELAY_SETTLED
    from paydraw.actors import SYSTEM
    from paydraw.domain import due
    from paydraw.domain.errors import (
        DomainError,
        InvalidInput,
        InvalidTransition,
        NotFound,
        PermissionDenied,
    )
    from paydraw.domain.transitions import (
        InvitationAction,
        InvitationStatus,
        PayAppAction,
        PayAppStatus,
        PeriodStatus,
        Role,
        transition,
        transition_invitation,
    )
    from workflows.ids import COMMITMENT_BILLING, billing_workflow_id, printer_task_queue
    from workflows.messages import (
        Answer,
        CertificateToPrint,
        CommitmentBillingInput,
        CreateStep,
        DueDateChange,
        ExtendDueDate,
        InvitationChange,
        InvitationEmail,
        InvitationView,
        InviteCommitments,
        InviteDelivery,
        InviteResult,
        OutboxIds,
        PayAppAnswer,
        PayAppResult,
        PayAppStep,
        Refusal,
    )
    from workflows.rejections import rejection

ACTIVITY_TIMEOUT = timedelta(seconds=60)
# Sending a batch of emails may take a while; a worker that died mid-way is noticed by its
# missing heartbeat (the activity beats every couple of seconds while it runs), and another
# worker takes the batch over within about ten seconds, long before the batch's time is up.
MAIL_TIMEOUT = timedelta(minutes=30)
MAIL_HEARTBEAT = timedelta(seconds=10)
# The database may be away for a while: keep retrying, never give up on a state change.
DATABASE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
# Temporary SMTP failures back off up to 10 minutes between tries; a 5xx is final (no raise).
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=10)
)
# Printing a G702/G703 takes a fraction of a second of CPU, and the printer only gets the CPU the
# billing steps leave free, so an attempt may take a long while on a busy machine; a worker that
# died while printing is noticed by its missing heartbeat instead, and another prints it.
PRINT_TIMEOUT = timedelta(minutes=30)
PRINT_HEARTBEAT = timedelta(seconds=30)
# Workflows that were running before finalizing printed the certificate take the old road on
# replay: the marker of this patch tells them apart.
PRINT_CERTIFICATES = "print-certificates"


# Pay apps that still have a way to go; the workflow outlives its period's close for them.
LIVE = frozenset(
    {
        PayAppStatus.UNDER_REVIEW,
        PayAppStatus.REVISE_AND_RESUBMIT,
        PayAppStatus.APPROVED,
        PayAppStatus.FINALIZED,
    }
)


def deadline_of(due_date: date) -> datetime:
    """A pay app is due by the end of its due date (paydraw.domain.due)."""
    return due.deadline(due_date)


async def deliver_emails(outbox_ids: list[str], relayed: bool = False) -> None:
    """Send queued emails on one connection (an activity), retried until the server takes them;
    a permanent refusal is recorded, not retried. A bug in the sending gives up after a few
    tries (activities.bounded): the emails stay queued, where the operator sees them, and the
    billing goes on. Relayed emails are left to the worker's relay while it may still be
    sending them."""
    try:
        await workflow.execute_activity_method(
            BillingActivities.deliver_emails,
            OutboxIds(ids=outbox_ids, relayed=relayed),
            start_to_close_timeout=MAIL_TIMEOUT,
            heartbeat_timeout=MAIL_HEARTBEAT,
            retry_policy=MAIL_RETRY,
        )
    except ActivityError as failure:
        workflow.logger.error("emails %s were not sent: %s", outbox_ids, failure.cause)


async def refusable(activity: Callable[..., Any], argument: Any) -> Any:
    """Run a database activity whose transaction a domain rule may refuse; the refusal comes
    back as the same error, final, for the update to fail with."""
    try:
        return await workflow.execute_activity_method(
            activity,
            argument,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
    except ActivityError as failure:
        if isinstance(failure.cause, ApplicationError):
            raise failure.cause from None
        raise


def billing_handle(
    client: "Client", commitment_id: str, period_id: str
) -> "WorkflowHandle[CommitmentBillingWorkflow, InvitationView]":
    """The handle of one commitment's billing in one period, for updates from the API."""
    return client.get_workflow_handle(billing_workflow_id(commitment_id, period_id))


@workflow.defn(name=COMMITMENT_BILLING)
class CommitmentBillingWorkflow:
    @workflow.init
    def __init__(self, input: CommitmentBillingInput) -> None:
        self.input = input
        # Invited, the period has already recorded the invite and sends its email.
        self.status = InvitationStatus.INVITED if input.invite else InvitationStatus.NOT_INVITED
        self.due_date = input.due_date
        self.overdue = False
        self.closed = False
        self.reminders_pending: dict[int, datetime] = {}
        self.reminders_sent: list[int] = []
        self.outbox: list[str] = []
        # Emails handed to the worker's relay, each with the moment of the hand-over; the
        # workflow sends any the relay has not once the relay's grace is over (activities.relay).
        self.relayed: dict[str, datetime] = {}
        self.invite_message = input.message
        self.pay_apps: dict[str, PayAppStatus] = {}
        # Finalized pay apps whose G702/G703 is still to be printed and kept.
        self.to_print: list[str] = []
        # Update handlers await activities; the lock keeps two answers from interleaving.
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: CommitmentBillingInput) -> InvitationView:
        if input.invite:
            self.schedule_reminders()
        while not self.finished():
            await self.deliver_outbox()
            await self.print_certificates()
            await self.sleep_until_next_deadline()
            await self.act_on_deadlines()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.deliver_outbox()
        await self.print_certificates()
        if self.relayed:
            relayed, self.relayed = list(self.relayed), {}
            await deliver_emails(relayed, relayed=True)
        return self.view()

    def finished(self) -> bool:
        """Closed, with no pay app still on its way to being paid or voided."""
        return self.closed and not any(status in LIVE for status in self.pay_apps.values())

    @workflow.signal
    def invite(self, request: InviteCommitments) -> None:
        """The period invited a commitment whose billing the admin had already started (it
        recorded the invite and sends its email); a repeat, or the signal that came with this
        workflow's start, changes nothing."""
        if self.status == InvitationStatus.NOT_INVITED:
            self.status = InvitationStatus.INVITED
            self.invite_message = request.message
            self.schedule_reminders()

    @workflow.update
    async def invite_one(self, request: InviteCommitments) -> InviteResult:
        """The admin invited this commitment alone: the invite is recorded and its email sent
        here, without the period's workflow in between (that one takes invites a batch at a
        time, and a few updates at once). One already invited is refused, as the period does."""
        async with self.lock:
            commitment_id = self.input.commitment_id
            if self.status != InvitationStatus.NOT_INVITED:
                refusal = Refusal(commitment_id=commitment_id, reason="already invited")
                return InviteResult(invited=[], refused=[refusal])
            delivery = InviteDelivery(
                period_id=self.input.period_id,
                commitment_id=commitment_id,
                kind="invite",
                due_date=self.due_date,
                message=request.message,
                actor=request.actor,
                at=workflow.now(),
            )
            try:
                queued: OutboxIds = await refusable(BillingActivities.record_invite, delivery)
            except ApplicationError:
                # The period closed before the invite was recorded: nothing here to wait for.
                self.closed = True
                raise
            self.status = InvitationStatus.INVITED
            self.invite_message = request.message
            self.schedule_reminders()
            self.take(queued)
            return InviteResult(invited=[commitment_id], refused=[])

    @invite_one.validator
    def validate_invite_one(self, request: InviteCommitments) -> None:
        if self.closed:
            raise rejection(
                InvalidTransition(PeriodStatus.CLOSED, "invite", [], "a billing period")
            )

    # -- deadlines ---------------------------------------------------------------------------

    def schedule_reminders(self) -> None:
        """Reminders at the project's offsets before the due date; ones already past are skipped."""
        deadline = deadline_of(self.due_date)
        now = workflow.now()
        self.reminders_pending = {
            offset: deadline - timedelta(days=offset)
            for offset in self.input.reminder_offsets_days
            if deadline - timedelta(days=offset) > now
        }

    def next_deadline(self) -> datetime | None:
        moments = [min(self.relayed.values()) + RELAY_GRACE] if self.relayed else []
        if self.status == InvitationStatus.INVITED:
            moments.extend(self.reminders_pending.values())
        if self.may_fall_overdue():
            moments.append(deadline_of(self.due_date))
        return min(moments, default=None)

    async def sleep_until_next_deadline(self) -> None:
        """Until the next reminder or due date, or sooner when there are emails to send or the
        deadline moved; an answer that leaves the deadline where it was keeps the same timer."""
        moment = self.next_deadline()
        wake = lambda: (  # noqa: E731
            self.finished()
            or bool(self.outbox)
            or bool(self.to_print)
            or self.next_deadline() != moment
        )
        if moment is None:
            await workflow.wait_condition(wake)
            return
        try:
            timeout = max(moment - workflow.now(), timedelta(0))
            await workflow.wait_condition(wake, timeout=timeout)
        except TimeoutError:
            pass

    async def act_on_deadlines(self) -> None:
        now = workflow.now()
        if self.relayed and min(self.relayed.values()) + RELAY_GRACE <= now:
            await self.take_back_from_relay(now)
        deadline = deadline_of(self.due_date)
        if self.status == InvitationStatus.INVITED:
            for offset, moment in sorted(self.reminders_pending.items(), reverse=True):
                if moment <= now:
                    del self.reminders_pending[offset]
                    if now < deadline:
                        await self.send(InvitationEmail.REMINDER, days_left=offset)
                        self.reminders_sent.append(offset)
        if now >= deadline and self.may_fall_overdue():
            self.overdue = True
            self.reminders_pending.clear()
            await self.send(InvitationEmail.OVERDUE_NOTICE)

    def may_fall_overdue(self) -> bool:
        """Invited or accepted, and no pay app submitted yet."""
        submitted = any(status != PayAppStatus.DRAFT for status in self.pay_apps.values())
        return (
            not self.overdue
            and not submitted
            and self.status in (InvitationStatus.INVITED, InvitationStatus.ACCEPTED)
        )

    async def send(self, kind: InvitationEmail, days_left: int = 0) -> None:
        activity = (
            BillingActivities.record_overdue
            if kind == InvitationEmail.OVERDUE_NOTICE
            else BillingActivities.record_reminder
        )
        queued: OutboxIds = await workflow.execute_activity_method(
            activity,
            self.delivery(kind, days_left),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
        self.outbox.extend(queued.ids)

    def take(self, queued: OutboxIds) -> None:
        """Emails a step queued: to send, or to see sent by the relay."""
        if queued.relayed:
            self.relayed.update(dict.fromkeys(queued.ids, workflow.now()))
        else:
            self.outbox.extend(queued.ids)

    async def take_back_from_relay(self, now: datetime) -> None:
        """The relayed emails the relay is done with (sent, or left): what it did not send goes
        to the outbox."""
        settled = [email for email, at in self.relayed.items() if at <= now - RELAY_SETTLED]
        unsent: OutboxIds = await workflow.execute_local_activity_method(
            BillingActivities.unsent_emails,
            OutboxIds(ids=settled),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
        for outbox_id in settled:
            del self.relayed[outbox_id]
        self.outbox.extend(unsent.ids)

    async def deliver_outbox(self) -> None:
        while self.outbox:
            queued, self.outbox = self.outbox, []
            await deliver_emails(queued)

    async def print_certificates(self) -> None:
        """Print and keep the G702/G703 of each pay app finalized since, once its finalize step
        has committed. The activity is idempotent and retried through an outage; a bug gives up
        after a few tries (activities.bounded), and the first download prints it instead."""
        while self.to_print:
            pay_app_id = self.to_print.pop(0)
            try:
                await workflow.execute_activity_method(
                    CertificateActivities.print_certificate,
                    CertificateToPrint(pay_app_id=pay_app_id),
                    # One at a time, from a queue of its own: certificates waiting for the printer
                    # wait in Temporal's queue, not in the billing worker's activity slots. (A
                    # replay does not compare an activity's queue; a print scheduled on the
                    # billing queue before runs there, where the billing worker still takes it.)
                    task_queue=printer_task_queue(workflow.info().task_queue),
                    start_to_close_timeout=PRINT_TIMEOUT,
                    heartbeat_timeout=PRINT_HEARTBEAT,
                    retry_policy=DATABASE_RETRY,
                )
            except ActivityError as failure:
                workflow.logger.error("certificate %s not printed: %s", pay_app_id, failure.cause)

    def delivery(self, kind: InvitationEmail, days_left: int = 0) -> InviteDelivery:
        return InviteDelivery(
            period_id=self.input.period_id,
            commitment_id=self.input.commitment_id,
            kind=kind,
            due_date=self.due_date,
            message=self.invite_message,
            days_left=days_left,
            actor=SYSTEM,
            at=workflow.now(),
        )

    # -- the contact's answer -----------------------------------------------------------------

    @property
    def locked(self) -> bool:
        """After the due date the contact can no longer accept, create or submit."""
        return workflow.now() >= deadline_of(self.due_date)

    def check(self, action: InvitationAction, role: Role) -> InvitationStatus:
        if self.closed:
            raise rejection(
                InvalidTransition(
                    PeriodStatus.CLOSED, action, [], subject="an invitation of a period"
                )
            )
        try:
            target = transition_invitation(self.status, action, role)
        except DomainError as error:
            raise rejection(error) from None
        if action == InvitationAction.ACCEPT and self.locked:
            raise rejection(
                InvalidTransition("past_due", action, ["decline"], subject="an invitation")
            )
        return target

    @workflow.update
    async def accept(self, answer: Answer) -> InvitationView:
        return await self.answer(InvitationAction.ACCEPT, answer)

    @accept.validator
    def validate_accept(self, answer: Answer) -> None:
        self.check(InvitationAction.ACCEPT, Role.CONTACT)

    @workflow.update
    async def decline(self, answer: Answer) -> InvitationView:
        return await self.answer(InvitationAction.DECLINE, answer)

    @decline.validator
    def validate_decline(self, answer: Answer) -> None:
        if not answer.reason.strip():
            raise rejection(InvalidInput("reason", "a reason is required to decline"))
        self.check(InvitationAction.DECLINE, Role.CONTACT)

    async def answer(self, action: InvitationAction, answer: Answer) -> InvitationView:
        async with self.lock:
            target = self.check(action, Role.CONTACT)  # again: another answer may have won
            change = InvitationChange(
                period_id=self.input.period_id,
                commitment_id=self.input.commitment_id,
                action=action,
                to_status=target,
                actor=answer.actor,
                reason=answer.reason,
                at=workflow.now(),
            )
            notices: OutboxIds = await workflow.execute_activity_method(
                BillingActivities.persist_invitation,
                change,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=DATABASE_RETRY,
            )
            self.status = target
            self.take(notices)
            return self.view()

    # -- the GC's actions ----------------------------------------------------------------------

    @workflow.update
    async def extend_due_date(self, request: ExtendDueDate) -> InvitationView:
        async with self.lock:
            self.validate_extension(request)
            await workflow.execute_activity_method(
                BillingActivities.extend_due_date,
                DueDateChange(
                    period_id=self.input.period_id,
                    commitment_id=self.input.commitment_id,
                    due_date=request.due_date,
                    actor=request.actor,
                    at=workflow.now(),
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=DATABASE_RETRY,
            )
            self.due_date = request.due_date
            self.overdue = False
            self.schedule_reminders()
            self.reminders_sent = []
            return self.view()

    @extend_due_date.validator
    def validate_extension(self, request: ExtendDueDate) -> None:
        if self.closed or self.status == InvitationStatus.DECLINED:
            status = "closed" if self.closed else "declined"
            raise rejection(InvalidTransition(status, "extend_due_date", [], "an invitation"))
        if request.due_date <= self.due_date:
            raise rejection(
                InvalidInput("due_date", f"must be after the current due date {self.due_date}")
            )

    # -- pay applications ---------------------------------------------------------------------

    @workflow.update
    async def pay_app(self, step: PayAppStep) -> PayAppAnswer | None:
        """Create a pay app or act on one; the activity applies it in one transaction."""
        async with self.lock:
            self.validate_pay_app(step)  # again: an earlier step may have changed the status
            update = workflow.current_update_info()
            assert update is not None  # inside an update handler
            step_id = f"{workflow.info().workflow_id}:{update.id}"
            step = step.model_copy(update={"step_id": step_id})
            result: PayAppResult = await refusable(BillingActivities.apply_pay_app_step, step)
            answer = result.given
            if answer is None:
                self.pay_apps.pop(step.pay_app_id or "", None)
            else:
                self.pay_apps[answer.pay_app_id] = answer.status
                if step.action == PayAppAction.FINALIZE and workflow.patched(PRINT_CERTIFICATES):
                    self.to_print.append(answer.pay_app_id)
            self.take(OutboxIds(ids=result.outbox_ids, relayed=result.relayed))
            return answer

    @pay_app.validator
    def validate_pay_app(self, step: PayAppStep) -> None:
        role = step.role
        if isinstance(step, CreateStep):
            self.validate_create(role)
            return
        status = self.pay_apps.get(step.pay_app_id or "")
        if status is None:
            raise rejection(NotFound(f"pay app {step.pay_app_id} not found"))
        action = step.action
        try:
            transition(status, action, role)
        except DomainError as error:
            raise rejection(error) from None
        if role == Role.CONTACT and action == PayAppAction.SUBMIT and self.locked:
            raise rejection(InvalidTransition("past_due", action, [], subject="a pay app"))

    def validate_create(self, role: Role) -> None:
        if role not in (Role.ADMIN, Role.CONTACT):
            raise rejection(PermissionDenied(f"a {role} may not create pay apps"))
        if role != Role.CONTACT:
            return
        if self.closed:
            raise rejection(
                InvalidTransition(PeriodStatus.CLOSED, "create", [], "a pay app in a period")
            )
        if self.status != InvitationStatus.ACCEPTED:
            raise rejection(
                InvalidTransition(
                    self.status, "create", ["accept"], message="accept the invite to bill first"
                )
            )
        if self.locked:
            raise rejection(
                InvalidTransition("past_due", "create", [], subject="a pay app in a period")
            )

    @workflow.signal
    def close(self) -> None:
        """The period closed: finish what is under way and end."""
        self.closed = True

    @workflow.query
    def view(self) -> InvitationView:
        return InvitationView(
            period_id=self.input.period_id,
            commitment_id=self.input.commitment_id,
            status=self.status,
            due_date=self.due_date,
            overdue=self.overdue,
            locked=self.locked,
            reminders_sent=list(self.reminders_sent),
            closed=self.closed,
        )
