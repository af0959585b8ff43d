"""The billing workflows' side effects: database writes (with audit events) and email delivery.

Database work runs on a thread, one transaction per activity, and is idempotent, since Temporal
runs an activity again when a worker dies mid-way. A step somebody waits for (an accept, an
invite, a pay-app action) answers once its transaction commits and hands its emails to the
worker's relay (activities.relay), which sends them while the answer travels back. An activity
nobody waits for (a reminder, an overdue notice) sends its few emails itself right after its
commit (``send_now``). Either way, what could not be sent goes to the workflow's email
activity, which retries it; so the usual step needs no second activity for its emails.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC

import anyio
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities import pay_app_steps
from activities.pay_app_steps import mark_step_applied
from activities.relay import Relay, still_relayed
from emails.delivery import (
    DeliveryOutcome,
    DeliveryStatus,
    QueuedEmail,
    deliver_loaded,
    just_queued,
    load_many,
)
from emails.outbox import pending_for_pay_app, still_pending
from emails.sender import MailServer
from paydraw.db.engine import session_scope
from paydraw.db.tables import utcnow
from paydraw.domain.errors import DomainError
from paydraw.invitations import service as invitations
from paydraw.pay_apps import service as pay_apps
from paydraw.pay_apps.notify import Links
from paydraw.pay_apps.schemas import PayAppPublic
from paydraw.periods import service as periods
from paydraw.settings import Settings
from workflows.messages import (
    CreateStep,
    DueDateChange,
    InvitationChange,
    InviteDelivery,
    MonthlyCycleInput,
    MonthlyPeriod,
    OpenedPeriod,
    OutboxIds,
    PayAppAnswer,
    PayAppResult,
    PayAppStep,
    PeriodClosing,
)
from workflows.rejections import rejection

log = logging.getLogger("paydraw.activities")

# A step's own emails are sent at once when they are few; more than this (an invite to a whole
# period) would hold up the answer, so they go to the email activity.
SEND_NOW_LIMIT = 10
# How long the step waits for the mail server, all told, before it leaves the emails to the
# email activity, which waits longer and retries.
SEND_NOW_TIMEOUT_SECONDS = 5.0


async def send_now(
    engine: Engine, settings: Settings, emails: Mapping[str, QueuedEmail]
) -> list[str]:
    """Send a step's queued emails right after its commit; return the ids still to be sent.

    Nothing here is lost by a failure: the rows stay queued, and the ids handed back go to the
    workflow's email activity, which reads them again and sends only the ones still pending.
    """
    if not emails or len(emails) > SEND_NOW_LIMIT:
        return list(emails)
    try:
        async with asyncio.timeout(SEND_NOW_TIMEOUT_SECONDS):
            outcomes = await deliver_loaded(
                engine,
                emails,
                server=MailServer.of(settings),
                mail_from=settings.mail_from,
                timeout=SEND_NOW_TIMEOUT_SECONDS,
            )
    except Exception as error:  # the email activity tries again, and reports what it finds
        activity.logger.info("emails %s left for the email activity: %s", list(emails), error)
        return list(emails)
    await note_failures(engine, outcomes)
    return []


async def note_failures(engine: Engine, outcomes: list[DeliveryOutcome]) -> None:
    """Show each permanently refused email on its board row."""
    for outcome in outcomes:
        if outcome.status == DeliveryStatus.FAILED:
            await anyio.to_thread.run_sync(record_failure, engine, outcome.outbox_id, outcome.error)


def record_failure(engine: Engine, outbox_id: str, error: str) -> None:
    with session_scope(engine) as session:
        invitations.note_email_failure(session, outbox_id, error)


class BillingActivities:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.relay = Relay(lambda emails: send_now(engine, settings, emails))

    async def sent_now(self, emails: Mapping[str, QueuedEmail]) -> OutboxIds:
        return OutboxIds(ids=await send_now(self.engine, self.settings, emails))

    def relayed(self, emails: Mapping[str, QueuedEmail]) -> OutboxIds:
        return OutboxIds(ids=self.relay.hand_over(emails), relayed=True)

    @activity.defn
    async def record_reminder(self, delivery: InviteDelivery) -> OutboxIds:
        return await self.sent_now(await anyio.to_thread.run_sync(self.queue_reminder, delivery))

    def queue_reminder(self, delivery: InviteDelivery) -> dict[str, QueuedEmail]:
        with session_scope(self.engine) as session:
            ids = invitations.remind(
                session,
                self.settings,
                delivery.period_id,
                delivery.commitment_id,
                message=delivery.message,
                days_left=delivery.days_left,
                due_date=delivery.due_date,
            )
            return just_queued(session, ids)

    @activity.defn
    async def record_invite(self, delivery: InviteDelivery) -> OutboxIds:
        """The admin's invite of this one commitment: recorded and its emails relayed, unless
        the period closed meanwhile (refused, final)."""
        return self.relayed(await anyio.to_thread.run_sync(self.queue_invite, delivery))

    def queue_invite(self, delivery: InviteDelivery) -> dict[str, QueuedEmail]:
        try:
            with session_scope(self.engine) as session:
                ids = periods.invite_one(
                    session,
                    self.settings,
                    delivery.period_id,
                    delivery.commitment_id,
                    actor=delivery.actor,
                    message=delivery.message,
                    at=delivery.at,
                )
                return just_queued(session, ids)
        except DomainError as error:
            raise rejection(error) from None

    @activity.defn
    async def record_overdue(self, delivery: InviteDelivery) -> OutboxIds:
        """Flag the board row overdue and send the overdue notice."""
        return await self.sent_now(await anyio.to_thread.run_sync(self.queue_overdue, delivery))

    def queue_overdue(self, delivery: InviteDelivery) -> dict[str, QueuedEmail]:
        with session_scope(self.engine) as session:
            ids = invitations.mark_overdue(
                session,
                self.settings,
                delivery.period_id,
                delivery.commitment_id,
                delivery.due_date,
            )
            return just_queued(session, ids)

    @activity.defn
    async def persist_invitation(self, change: InvitationChange) -> OutboxIds:
        """The contact's accept or decline; a decline sends a notice to the project's admins."""
        return self.relayed(await anyio.to_thread.run_sync(self.save_invitation, change))

    def save_invitation(self, change: InvitationChange) -> dict[str, QueuedEmail]:
        with session_scope(self.engine) as session:
            ids = invitations.answer(
                session,
                self.settings,
                change.period_id,
                change.commitment_id,
                action=change.action,
                to_status=change.to_status,
                actor=change.actor,
                reason=change.reason,
                at=change.at,
            )
            return just_queued(session, ids)

    @activity.defn
    def extend_due_date(self, change: DueDateChange) -> None:
        with session_scope(self.engine) as session:
            invitations.extend_due_date(
                session, change.period_id, change.commitment_id, change.due_date, change.actor
            )

    @activity.defn
    def close_period(self, closing: PeriodClosing) -> None:
        with session_scope(self.engine) as session:
            periods.close(
                session,
                closing.period_id,
                closing.actor,
                closing.at,
                pay_apps.delete_drafts_of_closed_period,
            )

    @activity.defn
    def plan_monthly_period(self, cycle: MonthlyCycleInput) -> MonthlyPeriod:
        """Today's period of the project's monthly cycle, and the open period to close first."""
        today = activity.info().current_attempt_scheduled_time.astimezone(UTC).date()
        with session_scope(self.engine) as session:
            start, end, due, still_open = periods.plan_monthly(session, cycle.project_id, today)
        return MonthlyPeriod(
            project_id=cycle.project_id,
            start_date=start,
            end_date=end,
            due_date=due,
            still_open_period_id=still_open,
        )

    @activity.defn
    def open_monthly_period(self, plan: MonthlyPeriod) -> OpenedPeriod:
        """Open the planned period (or find it, on a retry) and list the commitments to invite."""
        try:
            with session_scope(self.engine) as session:
                period, project, eligible = periods.open_planned(
                    session,
                    plan.project_id,
                    plan.start_date,
                    plan.end_date,
                    plan.due_date,
                    plan.model_dump(mode="json"),
                )
                return OpenedPeriod(
                    period_id=period.id,
                    due_date=period.due_date,
                    reminder_offsets_days=project.reminder_offsets_days,
                    eligible_commitment_ids=eligible,
                )
        except periods.StillClosing as closing:
            raise ApplicationError(str(closing)) from None  # retried until the close is done

    @activity.defn
    async def apply_pay_app_step(self, step: PayAppStep) -> PayAppResult:
        """One pay-app action in one transaction, its emails handed to the relay; a retry of a
        step already applied (the worker died after the commit) changes nothing and answers
        with the pay app as it now is."""
        pay_app, emails = await anyio.to_thread.run_sync(self.apply_step, step)
        created = isinstance(step, CreateStep)
        answer = PayAppAnswer.of(pay_app, created=created) if pay_app else None
        log.info(
            "pay app step %s applied by %s: %s",
            step.action,
            step.actor.label,
            pay_app.status if pay_app else "deleted",
            extra={"pay_app_id": pay_app.id if pay_app else step.pay_app_id},
        )
        return PayAppResult(answer=answer, outbox_ids=self.relay.hand_over(emails), relayed=True)

    def apply_step(self, step: PayAppStep) -> tuple[PayAppPublic | None, dict[str, QueuedEmail]]:
        try:
            with session_scope(self.engine) as session:
                role = step.role
                if mark_step_applied(session, step.step_id):
                    links = Links(self.settings)
                    pay_app = pay_app_steps.apply(session, step.actor, role, step, links)
                    outbox_ids = pay_app_steps.queued_emails(session)
                else:
                    # An earlier attempt applied the step and then died: answer with the pay app
                    # as it is now, and hand over the emails still waiting to be sent.
                    if isinstance(step, CreateStep):
                        pay_app = pay_app_steps.created_by(session, role, step)
                    else:
                        pay_app = pay_app_steps.current(session, role, step.pay_app_id or "")
                    pay_app_id = pay_app.id if pay_app else step.pay_app_id
                    pending = pending_for_pay_app(session, pay_app_id or "")
                    outbox_ids = [row.id for row in pending]
                emails = just_queued(session, outbox_ids)
        except DomainError as error:
            # A rule refused the step (over-billing, a state that changed): final, not retried,
            # and handed back to the caller as the same domain error.
            raise rejection(error) from None
        return pay_app, emails

    @activity.defn
    def unsent_emails(self, relayed: OutboxIds) -> OutboxIds:
        """Of the emails handed to the relay a while ago, the ones it did not send (a local
        activity: one read, inside the workflow's task)."""
        with session_scope(self.engine) as session:
            return OutboxIds(ids=still_pending(session, relayed.ids))

    @activity.defn
    async def deliver_emails(self, queued: OutboxIds) -> None:
        """Send queued emails on one connection; temporary failures raise (Temporal retries
        with backoff, and what was sent is not sent again), a permanent one is recorded on the
        board row instead of being retried forever. Relayed emails the relay may still be
        sending are left to it a while: this attempt fails and Temporal tries again later."""
        elsewhere = await self.relay.settled(queued.ids) if queued.relayed else []
        emails = await anyio.to_thread.run_sync(load_many, self.engine, queued.ids)
        if relaying := still_relayed(emails, elsewhere, utcnow()):
            raise ApplicationError(
                f"emails {relaying} are still with the relay",
                type="Relaying",
                category=ApplicationErrorCategory.BENIGN,  # expected: not logged as a failure
            )
        async with heartbeating():
            outcomes = await deliver_loaded(
                self.engine,
                emails,
                server=MailServer.of(self.settings),
                mail_from=self.settings.mail_from,
                progress=activity.heartbeat,
            )
        await note_failures(self.engine, outcomes)


HEARTBEAT_EVERY_SECONDS = 2.0


@asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Beat the activity's heartbeat every couple of seconds while the block runs, a slow mail
    server included: the beat says this worker lives, so a dead one's work is taken over soon."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY_SECONDS)

    beating = asyncio.ensure_future(beat())
    try:
        yield
    finally:
        beating.cancel()
