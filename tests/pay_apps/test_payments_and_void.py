"""Payments against a certificate, the credit balance, and voiding."""

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from paydraw.commitments import summary as summaries
from paydraw.commitments.schemas import ChangeOrderLineIn, G702Summary
from paydraw.domain.errors import InvalidInput, InvalidTransition, PermissionDenied
from paydraw.domain.transitions import Role
from paydraw.pay_apps import service
from tests.pay_apps.builders import Job, design_job


def certified_job(engine: Engine) -> tuple[Job, str]:
    """DESIGN.md's application #1, finalized: 26,100.00 due."""
    job = design_job(engine)
    pay_app = job.create({"01": "5000", "02": "24000"})
    job.certify(pay_app.id)
    return job, pay_app.id


class TestPayments:
    def test_part_then_in_full(self, engine: Engine) -> None:
        job, pay_app_id = certified_job(engine)

        part = job.pay(pay_app_id, "10000")
        assert (part.status, part.payment_status) == ("finalized", "partially_paid")
        assert part.remaining_due == Decimal("16100.00")

        full = job.pay(pay_app_id, "16100")
        assert (full.status, full.payment_status) == ("paid", "paid")
        assert full.paid_to_date == Decimal("26100.00")
        assert full.remaining_due == Decimal("0.00")
        assert [e.action for e in job.events(pay_app_id)][-2:] == ["pay_part", "pay_in_full"]

    def test_never_above_what_is_still_due(self, engine: Engine) -> None:
        job, pay_app_id = certified_job(engine)
        job.pay(pay_app_id, "26000")

        with pytest.raises(InvalidInput, match=r"amount: remaining due is 100\.00"):
            job.pay(pay_app_id, "100.01")

    def test_after_a_part_payment_void_is_no_longer_offered(self, engine: Engine) -> None:
        job, pay_app_id = certified_job(engine)
        assert job.get(pay_app_id).allowed_actions == ["pay_in_full", "pay_part", "void"]

        part = job.pay(pay_app_id, "10000")

        assert part.allowed_actions == ["pay_in_full", "pay_part"]
        assert job.get(pay_app_id).allowed_actions == ["pay_in_full", "pay_part"]
        with pytest.raises(InvalidTransition) as refused:
            job.void(pay_app_id)
        assert refused.value.allowed_actions == ["pay_in_full", "pay_part"]

    def test_only_a_finalized_pay_app_is_paid(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "5000"})

        with pytest.raises(InvalidTransition) as refused:
            job.pay(pay_app.id, "10")
        assert refused.value.status == "draft"

    def test_a_credit_balance_pays_and_never_goes_negative(self, engine: Engine) -> None:
        job, pay_app_id = certified_job(engine)
        balance = job.run(
            service.add_credit, job.admin, Role.ADMIN, job.commitment_id, Decimal(5000), "deposit"
        )
        assert balance.credit_balance == Decimal("5000.00")

        paid = job.pay(pay_app_id, "5000", method="credit_balance")
        assert paid.paid_to_date == Decimal("5000.00")
        with pytest.raises(InvalidInput, match=r"credit balance is 0\.00"):
            job.pay(pay_app_id, "1", method="credit_balance")

    def test_only_an_admin_adds_credit(self, engine: Engine) -> None:
        job = design_job(engine)
        with pytest.raises(PermissionDenied):
            job.run(
                service.add_credit, job.reviewer, Role.REVIEWER, job.commitment_id, Decimal(1), ""
            )


class TestVoid:
    def test_void_then_invoice_the_period_again(self, engine: Engine) -> None:
        job, pay_app_id = certified_job(engine)

        voided = job.void(pay_app_id, "wrong vendor")

        assert (voided.status, voided.void_reason) == ("void", "wrong vendor")
        assert voided.remaining_due == Decimal("0.00")
        again = job.create({"02": "24000"})
        assert again.number == 2
        assert again.summary.previous_certificates == Decimal("0.00")
        assert all(line.from_previous == 0 for line in again.lines)

    def test_a_reason_is_required(self, engine: Engine) -> None:
        job, pay_app_id = certified_job(engine)
        with pytest.raises(InvalidInput, match="reason"):
            job.void(pay_app_id, "  ")

    def test_a_part_paid_pay_app_cannot_be_voided(self, engine: Engine) -> None:
        job, pay_app_id = certified_job(engine)
        job.pay(pay_app_id, "100")

        with pytest.raises(InvalidTransition, match="partially_paid"):
            job.void(pay_app_id)

    def test_a_paid_pay_app_cannot_be_voided(self, engine: Engine) -> None:
        job, pay_app_id = certified_job(engine)
        job.pay(pay_app_id, "26100")

        with pytest.raises(InvalidTransition, match="cannot void a pay app that is paid"):
            job.void(pay_app_id)

    def test_a_void_pay_app_cannot_be_paid(self, engine: Engine) -> None:
        job, pay_app_id = certified_job(engine)
        job.void(pay_app_id)

        with pytest.raises(InvalidTransition) as refused:
            job.pay(pay_app_id, "100")
        assert (refused.value.status, refused.value.allowed_actions) == ("void", [])

    def test_only_the_latest_certificate_can_be_voided(self, engine: Engine) -> None:
        job, first = certified_job(engine)
        job.period()
        job.certify(job.create({"02": "1000"}).id)

        with pytest.raises(InvalidTransition, match="pay app #2 was billed after it"):
            job.void(first)

    def test_voiding_releases_the_draws(self, engine: Engine) -> None:
        job = design_job(engine, draws=[("Draw 1 of 1", "50000")])
        pay_app = job.create(entry={"mode": "draws", "draw_ids": job.draws})
        job.certify(pay_app.id)

        job.void(pay_app.id)

        again = job.create(entry={"mode": "draws", "draw_ids": job.draws})
        assert again.summary.total_completed_and_stored == Decimal("50000.00")


class TestTheCertificateIsARecord:
    def test_the_billing_summary_shows_a_certificate_as_certified_after_a_change_order(
        self, engine: Engine
    ) -> None:
        job, pay_app_id = certified_job(engine)
        certified = job.get(pay_app_id).summary

        job.change_order(
            "CO-1", ChangeOrderLineIn(code="04", description="Blocking", amount=Decimal(10000))
        )

        summary = job.run(summaries.billing_summary, job.admin, job.commitment_id)
        [listed] = summary.certificates
        assert summary.contract_sum_to_date == Decimal("110000.00")
        assert listed.contract_sum_to_date == certified.contract_sum_to_date == Decimal("100000.00")
        assert listed.balance_to_finish_with_retainage == (
            certified.balance_to_finish_with_retainage
        )
        assert job.get(pay_app_id).summary == certified
        assert G702Summary(**listed.model_dump(include=set(G702Summary.model_fields))) == certified


class TestACertificateWithNothingDue:
    def test_at_zero_it_is_settled_when_it_is_finalized(self, engine: Engine) -> None:
        job, first = certified_job(engine)
        job.pay(first, "26100")
        job.period()
        second = job.create({"01": "0"})

        settled = job.certify(second.id)

        assert settled.summary.current_payment_due == Decimal("0.00")
        assert (settled.status, settled.payment_status) == ("paid", "paid")
        assert settled.allowed_actions == []
        event = job.events(second.id)[-1]
        assert (event.action, event.from_state, event.to_state) == ("finalize", "approved", "paid")
        assert event.detail["settled"] == "nothing due"
        subjects = {e.subject for e in job.emails("pay_app_ready_for_payment") if "#2" in e.subject}
        assert subjects and all(s.startswith("Certified, nothing due") for s in subjects)

    def test_below_zero_the_difference_is_credit_that_pays_a_later_certificate(
        self, engine: Engine
    ) -> None:
        job, first = certified_job(engine)
        job.pay(first, "26100")
        job.period()
        # A correction: line 02 billed 1,000 too much on #1, so #2 certifies 900 less than paid.
        second = job.create({"02": "-1000"})

        settled = job.certify(second.id)

        assert settled.summary.current_payment_due == Decimal("-900.00")
        assert (settled.status, settled.payment_status) == ("paid", "paid")
        event = job.events(second.id)[-1]
        assert event.detail["settled"] == "$900.00 already paid is added to the credit balance"
        summary = job.run(summaries.billing_summary, job.admin, job.commitment_id)
        assert summary.credit_balance == Decimal("900.00")

        job.period()
        third = job.create({"02": "5000"})
        assert job.certify(third.id).summary.current_payment_due == Decimal("4500.00")
        paid = job.pay(third.id, "900", method="credit_balance")
        assert paid.paid_to_date == Decimal("900.00")
        job.pay(third.id, "3600")

        summary = job.run(summaries.billing_summary, job.admin, job.commitment_id)
        assert summary.credit_balance == Decimal("0.00")
        # Cash (26,100 + 3,600) is what was certified, 29,700; the 900 paid beyond #2 went back
        # as credit and was applied to #3.
        assert summary.certified_to_date == Decimal("29700.00")
        assert summary.paid_to_date == Decimal("29700.00")
        assert summary.certified_unpaid == Decimal("0.00")
