"""Fifty requests at once: the commitment lock (and the unique index behind it) lets exactly one
through, and the others get the 409 they would get one after another."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import select

from paydraw.db.tables import AuditEvent, BillingPeriod, PayApp
from paydraw.domain.errors import DomainError, InvalidTransition
from tests.pay_apps.builders import Job, design_job

RACERS = 50


def race(attempt: Callable[[int], object]) -> tuple[list[object], list[DomainError]]:
    """Run `attempt(0..49)` on fifty threads released at the same moment."""
    start = threading.Barrier(RACERS)

    def racer(index: int) -> object:
        start.wait()
        try:
            return attempt(index)
        except DomainError as error:
            return error

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = list(pool.map(racer, range(RACERS)))
    refused = [outcome for outcome in outcomes if isinstance(outcome, DomainError)]
    return [outcome for outcome in outcomes if not isinstance(outcome, DomainError)], refused


def pay_apps(job: Job) -> list[PayApp]:
    query = select(PayApp).where(PayApp.commitment_id == job.commitment_id)
    return job.run(lambda session: list(session.exec(query)))


def closed_periods(job: Job, count: int) -> list[str]:
    """Past periods an admin may still bill on the contact's behalf."""
    periods = [
        BillingPeriod(
            project_id=job.project_id,
            start_date=date(2020, 1, 1) + timedelta(days=31 * index),
            end_date=date(2020, 1, 30) + timedelta(days=31 * index),
            due_date=date(2020, 1, 25) + timedelta(days=31 * index),
            status="closed",
        )
        for index in range(count)
    ]
    job.run(lambda session: session.add_all(periods))
    return [period.id for period in periods]


class TestRacingCreates:
    def test_one_pay_app_for_the_same_period_and_kind(self, engine: Engine) -> None:
        job = design_job(engine)

        created, refused = race(lambda _: job.create({"02": "1000"}))

        assert len(created) == 1
        assert all(isinstance(error, InvalidTransition) for error in refused)
        assert len(pay_apps(job)) == 1

    def test_one_pay_app_across_periods_and_never_over_billed(self, engine: Engine) -> None:
        job = design_job(engine)
        periods = closed_periods(job, RACERS)

        created, refused = race(lambda index: job.create({"02": "60000"}, period_id=periods[index]))

        assert len(created) == 1
        assert len(refused) == RACERS - 1
        [pay_app] = pay_apps(job)
        assert job.get(pay_app.id).summary.total_completed_and_stored == Decimal("60000.00")


class TestRacingTransitions:
    def test_one_approval_and_one_certificate(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "5000", "02": "24000"})
        job.submit(pay_app.id)

        approved, _ = race(lambda _: job.approve(pay_app.id))
        finalized, refused = race(lambda _: job.finalize(pay_app.id))

        assert (len(approved), len(finalized)) == (1, 1)
        assert {error.status for error in refused if isinstance(error, InvalidTransition)} == {
            "finalized"
        }
        events = job.run(
            lambda session: list(
                session.exec(select(AuditEvent.action).where(AuditEvent.entity_id == pay_app.id))
            )
        )
        assert sorted(events) == ["approve", "create", "finalize", "submit"]
        assert len(job.emails("pay_app_ready_for_payment")) == 2
        assert job.get(pay_app.id).summary.current_payment_due == Decimal("26100.00")

    def test_payments_never_exceed_what_is_due(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "5000", "02": "24000"})
        job.certify(pay_app.id)

        paid, refused = race(lambda _: job.pay(pay_app.id, "1000"))

        assert len(paid) == 26
        final = job.get(pay_app.id)
        assert final.paid_to_date == Decimal("26000.00")
        assert final.remaining_due == Decimal("100.00")
        assert len(refused) == RACERS - 26
