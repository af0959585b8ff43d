"""What the service refuses: over-billing, wrong roles, wrong states, a second pay app."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from paydraw.db.tables import BillingPeriod
from paydraw.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    OverBillingError,
    PermissionDenied,
)
from paydraw.domain.transitions import Role
from paydraw.pay_apps import service
from paydraw.pay_apps.schemas import PayAppLinesEdit, PayAppPublic, Review
from tests.pay_apps.builders import CONTACT, LINKS, Job, design_job


class TestOverBilling:
    def test_block_names_the_line_and_what_is_billable(self, engine: Engine) -> None:
        job = design_job(engine)
        job.certify(job.create({"02": "24000"}).id)
        job.period()

        with pytest.raises(OverBillingError) as refused:
            job.create({"02": "40000"})

        assert "line 02: billable 36000.00, asked 40000.00" in refused.value.message
        assert refused.value.lines[0].billable == Decimal("36000.00")

    def test_warn_needs_a_reason_and_audits_it(self, engine: Engine) -> None:
        job = design_job(engine, overbilling_policy="warn")
        with pytest.raises(OverBillingError, match="needs an override reason"):
            job.create({"01": "6000"})

        pay_app = job.create({"01": "6000"}, overbilling_override_reason="owner-approved extra")

        assert pay_app.overbilling_override_reason == "owner-approved extra"
        [event] = job.events(pay_app.id)
        assert event.reason == "owner-approved extra"
        assert event.detail["overbilling_override"]["lines"] == [
            {
                "code": "01",
                "billed_to_date": "6000.00",
                "scheduled_value": "5000.00",
                "billable": "5000.00",
            }
        ]

    def test_an_adjusted_amount_in_review_is_checked_too(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "1000"})
        job.submit(pay_app.id)

        with pytest.raises(OverBillingError, match="line 01"):
            job.review(
                pay_app.id,
                decision="approve_as_noted",
                lines=[{"sov_line_id": job.lines["01"], "work_this_period": "5001", "note": "x"}],
            )


class TestWhoActs:
    def test_a_contact_cannot_review(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "1000"})
        job.submit(pay_app.id)

        with pytest.raises(PermissionDenied):
            job.run(
                service.review,
                CONTACT,
                Role.CONTACT,
                pay_app.id,
                Review(decision="approve"),
                links=LINKS,
            )

    def test_a_reviewer_cannot_finalize_or_create(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "1000"})
        job.submit(pay_app.id)
        job.approve(pay_app.id)

        with pytest.raises(PermissionDenied):
            job.finalize(pay_app.id, role=Role.REVIEWER)
        with pytest.raises(PermissionDenied):
            job.create({"02": "1"}, role=Role.REVIEWER)

    def test_a_viewer_sees_no_actions(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "1000"})

        assert job.get(pay_app.id, Role.VIEWER).allowed_actions == []
        assert job.get(pay_app.id, Role.CONTACT).allowed_actions == [
            "delete",
            "edit_details",
            "edit_lines",
            "submit",
        ]


class TestWrongState:
    def test_finalizing_a_draft_names_the_allowed_actions(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "1000"})

        with pytest.raises(InvalidTransition) as refused:
            job.finalize(pay_app.id)

        assert refused.value.status == "draft"
        assert refused.value.allowed_actions == [
            "delete",
            "edit_details",
            "edit_lines",
            "submit",
        ]

    def test_amounts_are_locked_under_review(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "1000"})
        job.submit(pay_app.id)

        with pytest.raises(InvalidTransition, match="cannot edit_lines a pay app that is under"):
            job.run(
                service.edit_lines,
                job.admin,
                Role.ADMIN,
                pay_app.id,
                PayAppLinesEdit(entry=job.amounts({"01": "2000"})),
            )


class TestOnePayAppAtATime:
    def test_one_per_period_and_kind(self, engine: Engine) -> None:
        job = design_job(engine)
        job.certify(job.create({"01": "1000"}).id)

        with pytest.raises(InvalidTransition, match="already bills this period as progress"):
            job.create({"02": "1000"})

    def test_the_next_waits_for_the_last_certificate(self, engine: Engine) -> None:
        job = design_job(engine)
        job.create({"01": "1000"})
        job.period()

        with pytest.raises(InvalidTransition, match="pay app #1 is still draft"):
            job.create({"02": "1000"})

    def test_a_draft_schedule_of_values_cannot_be_billed(self, engine: Engine) -> None:
        job = design_job(engine, approve_sov=False)
        with pytest.raises(InvalidTransition, match="not approved"):
            job.create({"01": "1"})

    def test_another_projects_period_is_not_found(self, engine: Engine) -> None:
        job = design_job(engine)
        other = design_job(engine)
        with pytest.raises(NotFound):
            job.create({"01": "1"}, period_id=other.periods[-1])

    def test_the_kind_decides_what_is_billed(self, engine: Engine) -> None:
        job = design_job(engine)
        with pytest.raises(ValueError, match="needs a retainage release"):
            job.create({"01": "1"}, kind="progress_and_retainage")
        pay_app = job.create({"01": "1"})
        edit = PayAppLinesEdit(retainage_release={"amount": None})
        with pytest.raises(InvalidInput, match="entry: a progress pay app needs a progress"):
            job.run(service.edit_lines, job.admin, Role.ADMIN, pay_app.id, edit)


def sent_back(job: Job) -> PayAppPublic:
    """A pay app the reviewer sent back to the contact for revision."""
    pay_app = job.create({"01": "1000"})
    job.submit(pay_app.id)
    return job.review(pay_app.id, decision="revise", note="Attach the lien waiver")


class TestTheContactsDeadline:
    def test_a_contact_cannot_bill_a_closed_period_but_an_admin_can(self, engine: Engine) -> None:
        job = design_job(engine)
        closed = job.periods[-1]
        job.period()

        with pytest.raises(InvalidTransition, match="the billing period is closed"):
            job.create({"01": "1000"}, role=Role.CONTACT, actor=CONTACT, period_id=closed)
        assert job.create({"01": "1000"}, period_id=closed).status == "draft"

    def test_a_contact_cannot_change_a_sent_back_pay_app_past_the_due_date(
        self, engine: Engine
    ) -> None:
        job = design_job(engine)
        pay_app = sent_back(job)
        period_id = job.periods[-1]

        def due_yesterday(session: Session) -> None:
            period = session.get(BillingPeriod, period_id)
            assert period is not None
            period.due_date = date.today() - timedelta(days=1)
            session.add(period)

        job.run(due_yesterday)
        edit = PayAppLinesEdit(entry=job.amounts({"01": "1200"}))

        with pytest.raises(InvalidTransition, match="the billing period was due") as refused:
            job.run(service.edit_lines, CONTACT, Role.CONTACT, pay_app.id, edit)
        assert refused.value.status == "open"
        assert refused.value.allowed_actions == []
        assert job.get(pay_app.id).lines[0].this_period == Decimal("1000.00")
        edited = job.run(service.edit_lines, job.admin, Role.ADMIN, pay_app.id, edit)
        assert edited.lines[0].this_period == Decimal("1200.00")

    def test_a_contact_cannot_change_a_sent_back_pay_app_once_the_period_closed(
        self, engine: Engine
    ) -> None:
        job = design_job(engine)
        pay_app = sent_back(job)
        job.period()  # closes the pay app's period
        edit = PayAppLinesEdit(entry=job.amounts({"01": "1200"}))

        with pytest.raises(InvalidTransition, match="the billing period is closed") as refused:
            job.run(service.edit_lines, CONTACT, Role.CONTACT, pay_app.id, edit)
        assert refused.value.status == "closed"
        edited = job.run(service.edit_lines, job.admin, Role.ADMIN, pay_app.id, edit)
        assert edited.status == "revise_and_resubmit"
