"""Rendering each kind of email: subject, plain text and HTML, in the project's own words."""

import pytest
from jinja2 import UndefinedError

from emails.render import EmailKind, render
from tests.emails.examples import CONTEXTS, HOSTILE_MESSAGE, INVITE


class TestEachKind:
    @pytest.mark.parametrize("kind", [kind for kind in EmailKind if kind != EmailKind.SIGN_IN])
    def test_renders_a_subject_a_text_part_and_an_html_part(self, kind: EmailKind) -> None:
        email = render(kind, CONTEXTS[kind])

        assert "SC-014" in email.subject
        assert "\n" not in email.subject
        assert "Acme Framing" in email.text
        assert email.html.startswith("<!doctype html>")
        assert "Acme Framing" in email.html
        assert f"<title>{email.subject}</title>" in email.html

    def test_the_sign_in_email_carries_its_link_and_how_long_it_works(self) -> None:
        email = render("sign_in", CONTEXTS[EmailKind.SIGN_IN])

        assert email.subject == "Your Paydraw sign-in link"
        assert "https://paydraw.example/sign-in/abc" in email.text
        assert "It works once, within 15 minutes" in email.text
        assert 'href="https://paydraw.example/sign-in/abc"' in email.html
        assert "Dana &lt;Admin&gt;" in email.html
        assert "Sent by Paydraw." in email.html

    def test_the_invite_says_what_to_bill_for_and_where(self) -> None:
        email = render("invite", INVITE)

        assert (
            email.subject == "Invite to bill: Harbor View Tower, subcontract SC-014, due 2025-06-25"
        )
        assert "Bayline Builders invites Acme Framing to submit a pay application" in email.text
        assert "Billing period: 2025-06-01 to 2025-06-30" in email.text
        assert "Please include lien waivers." in email.text
        assert INVITE["link"] in email.text
        assert 'href="http://127.0.0.1:8000/contact?token=abc&amp;period=per_1"' in email.html

    def test_a_decline_notice_shows_the_reason_and_links_the_board(self) -> None:
        email = render("decline_notice", CONTEXTS[EmailKind.DECLINE_NOTICE])

        assert (
            email.subject
            == "Acme Framing declined to bill subcontract SC-014 for Harbor View Tower"
        )
        assert "Reason: No work performed this month." in email.text
        assert "Declined by: billing@acme.example" in email.text
        assert 'href="http://127.0.0.1:8000/billing-periods/per_1"' in email.html

    def test_a_decline_without_a_reason_says_so(self) -> None:
        email = render("decline_notice", {**CONTEXTS[EmailKind.DECLINE_NOTICE], "reason": ""})

        assert "Reason: none given" in email.text

    @pytest.mark.parametrize(
        ("days_left", "phrase"),
        [(0, "due today"), (1, "due tomorrow"), (7, "due in 7 days")],
    )
    def test_a_reminder_says_when_it_is_due(self, days_left: int, phrase: str) -> None:
        email = render("reminder", {**INVITE, "days_left": days_left})

        assert email.subject.startswith(f"Reminder: pay application {phrase} for")
        assert phrase in email.text

    def test_without_a_message_there_is_no_message_section(self) -> None:
        email = render("invite", {**INVITE, "message": ""})

        assert "Message from" not in email.text
        assert "Message from" not in email.html

    def test_without_a_general_contractor_the_project_team_invites(self) -> None:
        email = render("invite", {**INVITE, "general_contractor": ""})

        assert "The Harbor View Tower team invites Acme Framing" in email.text


class TestEscaping:
    def test_the_message_is_escaped_in_html_and_verbatim_in_text(self) -> None:
        email = render("invite", {**INVITE, "message": HOSTILE_MESSAGE})

        assert HOSTILE_MESSAGE in email.text
        assert "<script>" not in email.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in email.html

    @pytest.mark.parametrize("kind", list(EmailKind))
    def test_no_context_value_reaches_the_html_as_markup(self, kind: EmailKind) -> None:
        hostile = {
            key: f"<b>{key}</b>" if isinstance(value, str) and key != "terminology" else value
            for key, value in CONTEXTS[kind].items()
        }

        email = render(kind, hostile)

        assert "<b>" not in email.html
        shown = "project_name" if kind != EmailKind.SIGN_IN else "name"
        assert f"&lt;b&gt;{shown}&lt;/b&gt;" in email.html

    def test_a_line_break_in_a_name_does_not_break_the_subject(self) -> None:
        email = render("invite", {**INVITE, "project_name": "Harbor\nView\r\nTower"})

        assert email.subject.startswith("Invite to bill: Harbor View Tower,")


class TestTerminology:
    @pytest.mark.parametrize(
        ("terminology", "billing", "pay_app", "commitment"),
        [
            ("general_contractor", "Invoicing", "pay application", "Subcontract"),
            ("owner", "Funding", "draw request", "Contract"),
            ("specialty_contractor", "Progress Billings", "progress billing", "Contract"),
        ],
    )
    def test_the_owners_terminology_changes_the_words(
        self, terminology: str, billing: str, pay_app: str, commitment: str
    ) -> None:
        email = render("invite", {**INVITE, "terminology": terminology})

        assert f"to submit a {pay_app} for Harbor View Tower" in email.text
        assert f"{commitment}: SC-014" in email.text
        assert f"Harbor View Tower &middot; {billing}" in email.html


class TestMistakes:
    def test_a_missing_context_key_is_an_error_not_a_blank(self) -> None:
        context = {key: value for key, value in INVITE.items() if key != "due_date"}

        with pytest.raises(UndefinedError, match="due_date"):
            render("invite", context)

    def test_an_unknown_kind_is_refused(self) -> None:
        with pytest.raises(ValueError, match="welcome"):
            render("welcome", INVITE)


class TestTheContactsPayAppNews:
    def test_approved_as_noted_shows_each_change_and_escapes_the_notes(self) -> None:
        email = render("pay_app_approved_as_noted", CONTEXTS[EmailKind.PAY_APP_APPROVED_AS_NOTED])

        assert email.subject.startswith("Pay application #2 approved as noted")
        assert "- 02 Framing: 18000.00 / 0.00 submitted, 15000.00 / 0.00 approved" in email.text
        assert "(Measured on site: 3 of 4 floors <framed>)" in email.text
        assert "Current payment due: 29250.00" in email.text
        assert "&lt;framed&gt;" in email.html and "<framed>" not in email.html
        assert "&lt;script&gt;" in email.html and "<script>" not in email.html

    def test_a_payment_shows_amount_method_date_and_what_is_still_due(self) -> None:
        email = render("pay_app_payment", CONTEXTS[EmailKind.PAY_APP_PAYMENT])

        assert email.subject.endswith("10000.00")
        assert "Amount: 10000.00" in email.text
        assert "Method: check (1042)" in email.text
        assert "Date: 2025-07-15" in email.text
        assert "Still due: 21950.00" in email.text
        assert "21950.00" in email.html
