"""A pay-app step that Temporal runs again after its commit (the worker died before it could say
so) is applied once: the retry answers with the pay app as it now stands, and hands back the
emails still waiting to be sent."""

import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from activities.billing import BillingActivities
from paydraw.db.tables import AuditEvent, EmailOutbox, PayApp, Payment
from paydraw.pay_apps.schemas import PayAppCreate, PayAppPublic, PaymentCreate
from paydraw.settings import Settings
from tests.pay_apps.builders import Job, design_job
from workflows.messages import PayAppResult, PayAppStep, pay_app_step


def step(job: Job, action: str, step_id: str, **fields: Any) -> PayAppStep:
    """A step of the admin's, as the commitment's workflow hands it to the activity."""
    return pay_app_step(
        action=action,
        commitment_id=job.commitment_id,
        period_id=job.periods[-1],
        actor=job.admin,
        role="admin",
        step_id=step_id,
        **fields,
    )


def rows(job: Job, table: Any, *where: Any) -> list[Any]:
    return job.run(lambda session: list(session.exec(select(table).where(*where))))


class TestARetriedStep:
    def test_create_makes_one_pay_app_and_one_audit_event(
        self, engine: Engine, settings: Settings
    ) -> None:
        job = design_job(engine)
        activities = BillingActivities(engine, settings)
        create = step(
            job,
            "create",
            "billing:c:p:update-1",
            create=PayAppCreate(entry=job.amounts({"02": "30000.00"})),
        )

        first, _ = activities.apply_step(create)
        again, _ = activities.apply_step(create)

        assert first is not None and again is not None
        assert again.id == first.id
        assert again.summary.total_completed_and_stored == Decimal("30000.00")
        assert len(rows(job, PayApp, col(PayApp.commitment_id) == job.commitment_id)) == 1
        events = rows(job, AuditEvent, col(AuditEvent.entity_id) == first.id)
        assert [event.action for event in events] == ["create"]

    def test_payment_is_recorded_once(self, engine: Engine, settings: Settings) -> None:
        job = design_job(engine)
        activities = BillingActivities(engine, settings)
        pay_app = job.create({"02": "30000.00"})
        due = job.certify(pay_app.id).summary.current_payment_due
        payment = PaymentCreate(amount=Decimal("10000.00"), method="check", paid_on=date.today())
        pay = step(job, "pay_part", "billing:c:p:update-2", pay_app_id=pay_app.id, payment=payment)

        first, _ = activities.apply_step(pay)
        again, _ = activities.apply_step(pay)

        assert first is not None and again is not None
        assert again.paid_to_date == first.paid_to_date == Decimal("10000.00")
        assert again.remaining_due == due - Decimal("10000.00")
        assert again.payment_status == "partially_paid"
        assert len(rows(job, Payment, col(Payment.pay_app_id) == pay_app.id)) == 1

    def test_finalize_hands_back_every_email_still_waiting_and_queues_none_more(
        self, engine: Engine, settings: Settings
    ) -> None:
        job = design_job(engine)
        activities = BillingActivities(engine, settings)
        pay_app = job.create({"02": "30000.00"})
        job.submit(pay_app.id)  # its email to the reviewers is still waiting too
        job.approve(pay_app.id)
        finalize = step(job, "finalize", "billing:c:p:update-3", pay_app_id=pay_app.id)

        _, queued = activities.apply_step(finalize)
        again, still_queued = activities.apply_step(finalize)

        assert again is not None and again.status == "finalized"
        ready = rows(job, EmailOutbox, col(EmailOutbox.kind) == "pay_app_ready_for_payment")
        assert sorted(queued) == sorted(row.id for row in ready)
        assert len(ready) == 2, "the admin and the invoice contact"
        waiting = rows(job, EmailOutbox, col(EmailOutbox.status) == "pending")
        assert sorted(still_queued) == sorted(row.id for row in waiting)
        assert set(queued) < set(still_queued)
        assert {email.subject for email in still_queued.values()} == {
            row.subject for row in waiting
        }


class TestAStepsResultFromAnEarlierVersion:
    def test_an_answer_recorded_as_a_pay_app_reads_as_the_same_answer(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "30000.00"})
        recorded = json.dumps({"pay_app": pay_app.model_dump(mode="json"), "outbox_ids": ["eml_1"]})

        result = PayAppResult.model_validate_json(recorded)

        answer = result.given
        assert answer is not None
        assert (answer.pay_app_id, answer.status) == (pay_app.id, "draft")
        assert PayAppPublic.model_validate_json(answer.body) == pay_app
        assert result.outbox_ids == ["eml_1"]
