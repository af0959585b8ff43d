"""A pay app's life through the services: DESIGN.md's example, review, resubmit, delete."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine
from sqlmodel import Session

from paydraw.commitments.schemas import ChangeOrderLineIn
from paydraw.db.tables import Project
from paydraw.domain.transitions import Role
from paydraw.invitations.tokens import ContactClaim, verify
from paydraw.pay_apps import service
from paydraw.pay_apps.schemas import PayAppDetailsEdit, PayAppLinesEdit
from tests.pay_apps.builders import (
    CONTACT,
    CONTACT_EMAIL,
    LINKS,
    PUBLIC_URL,
    REVIEWER_EMAIL,
    design_job,
)


def contact_claim(body: str, label: str) -> ContactClaim:
    """What the signed link after `label` in an email grants: one commitment, period and contact."""
    url = next(line for line in body.splitlines() if line.startswith(label)).removeprefix(label)
    assert url.startswith(f"{PUBLIC_URL}/contact?token=")
    return verify(LINKS.settings, parse_qs(urlsplit(url).query)["token"][0])


class TestDesignExample:
    def test_application_two_certifies_31950(self, engine: Engine) -> None:
        job = design_job(engine)
        first = job.create({"01": "5000", "02": "24000"})
        certified = job.certify(first.id)
        assert certified.summary.current_payment_due == Decimal("26100.00")

        job.change_order(
            "CO-1", ChangeOrderLineIn(code="04", description="CO#1 blocking", amount=Decimal(10000))
        )
        job.period()
        second = job.create({"02": "18000", "03": ("7000", "8000"), "04": "2500"})
        finalized = job.certify(second.id)

        summary = finalized.summary.model_dump(mode="json")
        assert summary["total_completed_and_stored"] == "64500.00"
        assert summary["total_retainage"] == "6450.00"
        assert summary["total_earned_less_retainage"] == "58050.00"
        assert summary["previous_certificates"] == "26100.00"
        assert summary["current_payment_due"] == "31950.00"
        assert summary["balance_to_finish_with_retainage"] == "51950.00"
        assert finalized.number == 2
        assert finalized.certificate_issued
        windows = next(line for line in finalized.lines if line.code == "03")
        assert (windows.this_period, windows.materials_stored) == (Decimal(7000), Decimal(8000))

    def test_finalizing_emails_the_contacts_and_admins_what_is_due(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "5000", "02": "24000"})
        job.certify(pay_app.id)

        emails = {email.to_address: email for email in job.emails("pay_app_ready_for_payment")}
        assert sorted(emails) == ["ap@gc.example", CONTACT_EMAIL]
        assert "$26,100.00" in emails[CONTACT_EMAIL].subject
        assert "Current payment due: $26,100.00" in emails[CONTACT_EMAIL].text_body
        assert f"Open it: {PUBLIC_URL}/pay-apps/{pay_app.id}" in emails["ap@gc.example"].text_body
        assert contact_claim(emails[CONTACT_EMAIL].text_body, "Open it: ") == ContactClaim(
            job.commitment_id, job.periods[-1], CONTACT_EMAIL
        )


class TestSubmitAndReview:
    def test_the_emails_show_money_in_the_projects_currency(self, engine: Engine) -> None:
        job = design_job(engine)
        with Session(engine) as session:
            project = session.get(Project, job.project_id)
            assert project is not None
            project.currency = "CAD"
            session.add(project)
            session.commit()
        pay_app = job.create({"01": "5000", "02": "24000"})
        job.certify(pay_app.id)

        [email] = [
            e for e in job.emails("pay_app_ready_for_payment") if e.to_address == CONTACT_EMAIL
        ]
        assert email.subject.endswith(", CA$26,100.00")
        assert "Current payment due: CA$26,100.00" in email.text_body
        assert "CA$26,100.00" in email.html_body

    def test_submitting_tells_the_reviewers(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "10000"}, role=Role.CONTACT, actor=CONTACT)

        submitted = job.run(service.submit, CONTACT, Role.CONTACT, pay_app.id, links=LINKS)

        assert submitted.status == "under_review"
        assert submitted.submitted_at is not None
        assert submitted.allowed_actions == ["edit_details"]
        [email] = job.emails("pay_app_submitted")
        assert email.to_address == REVIEWER_EMAIL
        assert "Current payment due: $9,000.00" in email.text_body
        assert f"Review it: {PUBLIC_URL}/pay-apps/{pay_app.id}" in email.text_body
        assert f'href="{PUBLIC_URL}/pay-apps/{pay_app.id}"' in email.html_body

    def test_approve_as_noted_keeps_what_was_submitted(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "5000", "02": "24000"})
        job.submit(pay_app.id)
        framing = job.lines["02"]

        approved = job.review(
            pay_app.id,
            decision="approve_as_noted",
            lines=[{"sov_line_id": framing, "work_this_period": "20000", "note": "site walk: 1/3"}],
        )

        assert approved.status == "approved"
        line = next(line for line in approved.lines if line.sov_line_id == framing)
        assert line.this_period == Decimal("20000.00")
        assert line.submitted_work == Decimal("24000.00")
        assert line.review_note == "site walk: 1/3"
        assert approved.summary.current_payment_due == Decimal("22500.00")
        [event] = [e for e in job.events(pay_app.id) if e.action == "approve_as_noted"]
        assert event.detail["lines"]["02"]["work_this_period"] == "20000.00"

    def test_a_rejected_line_bills_nothing_new(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"01": "5000", "02": "24000"})
        job.submit(pay_app.id)

        approved = job.review(
            pay_app.id,
            decision="approve_as_noted",
            lines=[{"sov_line_id": job.lines["01"], "approved": False, "note": "not mobilized"}],
        )

        assert approved.summary.total_completed_and_stored == Decimal("24000.00")

    def test_revise_emails_the_reasons_and_resubmit_reviews_again(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "30000"})
        job.submit(pay_app.id)

        sent_back = job.review(
            pay_app.id,
            decision="revise",
            note="Attach the lien waiver.",
            lines=[{"sov_line_id": job.lines["02"], "reason": "Framing is 40% done, not 50%."}],
        )

        assert sent_back.status == "revise_and_resubmit"
        [email] = job.emails("pay_app_revise")
        assert email.to_address == CONTACT_EMAIL
        assert "02 Framing: Framing is 40% done, not 50%." in email.text_body
        assert "Attach the lien waiver." in email.text_body
        claim = contact_claim(email.text_body, "Revise it here: ")
        assert claim == ContactClaim(job.commitment_id, job.periods[-1], CONTACT_EMAIL)

        revised = PayAppLinesEdit(entry=job.amounts({"02": "24000"}))
        job.run(service.edit_lines, CONTACT, Role.CONTACT, pay_app.id, revised)
        resubmitted = job.run(service.resubmit, CONTACT, Role.CONTACT, pay_app.id, links=LINKS)

        assert resubmitted.status == "under_review"
        assert resubmitted.summary.total_completed_and_stored == Decimal("24000.00")
        assert all(line.review_reason == "" for line in resubmitted.lines)
        assert len(job.emails("pay_app_submitted")) == 2

    def test_details_stay_editable_until_finalized(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": "1000"}, notes="first", due_terms="Net 30")
        job.submit(pay_app.id)
        request = PayAppDetailsEdit(
            notes="waiver attached", attachments=[{"name": "waiver.pdf", "url": "https://x/w"}]
        )

        edited = job.run(service.edit_details, job.reviewer, Role.REVIEWER, pay_app.id, request)

        assert (edited.notes, edited.due_terms) == ("waiver attached", "Net 30")
        assert edited.attachments[0].name == "waiver.pdf"
        assert [e.action for e in job.events(pay_app.id)] == ["create", "submit", "edit_details"]


class TestDeleteDraft:
    def test_deleting_a_draft_returns_its_amounts_to_billable(self, engine: Engine) -> None:
        job = design_job(engine, draws=[("Draw 1 of 2", "30000")])
        draft = job.create(entry={"mode": "draws", "draw_ids": job.draws})

        job.run(service.delete_draft, job.admin, Role.ADMIN, draft.id)

        again = job.create(entry={"mode": "draws", "draw_ids": job.draws})
        assert again.summary.total_completed_and_stored == Decimal("30000.00")
        assert all(line.billable_before == line.scheduled_value for line in again.lines)
        [event] = job.events(draft.id)[-1:]
        assert (event.action, event.from_state, event.to_state) == ("delete", "draft", None)
        assert event.detail["draws_released"] == job.draws
