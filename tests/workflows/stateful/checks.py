"""The checks after every step: a pay app reads as the model says, each figure to the cent; no line
bills over its scheduled value without an audited override; the billing summary adds up; void and
paid stay so; a refusal is the one predicted; the audit trail grows by exactly the change
(``AuditTrail``); and the emails the steps promised arrive, once each (``PromisedEmails``)."""

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from paydraw.db.tables import AuditEvent
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import messages_to
from tests.workflows.stateful.model import CERTIFIED, ZERO, BillingModel, PayAppModel, text
from tests.workflows.stateful.predictions import Expect
from tests.workflows.stateful.world import Commitment


def check_pay_app(model: BillingModel, app: PayAppModel, shown: dict[str, Any]) -> None:
    figures = model.figures(app)
    assert (shown["number"], shown["status"]) == (app.number, app.status)
    assert shown["payment_status"] == app.payment_status
    assert shown["overbilling_override_reason"] == app.override
    by_code = {line["code"]: line for line in shown["lines"]}
    for code, expected in figures.lines.items():
        for column, amount in expected.items():
            assert by_code[code][column] == text(amount), (code, column, by_code[code])
    # A finalized pay app shows its frozen certificate, which must still add up the same.
    for figure, amount in figures.summary.items():
        assert shown["summary"][figure] == text(amount), (figure, shown["summary"])
    assert shown["certificate_issued"] == (app.certificate is not None)
    assert shown["paid_to_date"] == text(app.paid)
    remaining = max(ZERO, app.due - app.paid) if app.status != "void" else ZERO
    assert shown["remaining_due"] == text(remaining)
    # What the admin is offered is what the model lets the admin do.
    assert shown["allowed_actions"] == model.allowed_for(app), (app.status, shown)


def check_no_line_over_without_an_audited_override(
    policy: str, app: PayAppModel, shown: dict[str, Any], trail: "AuditTrail"
) -> None:
    over = [
        line["code"]
        for line in shown["lines"]
        if Decimal(line["completed_and_stored"]) > Decimal(line["scheduled_value"])
    ]
    if not over or shown["status"] == "void":
        return
    assert policy == "warn" and shown["overbilling_override_reason"].strip(), over
    audited = [
        event.detail["overbilling_override"]
        for event in trail.events()
        if event.entity_id == app.id and "overbilling_override" in event.detail
    ]
    assert audited, f"pay app #{app.number} bills over {over} with no audited override"
    assert audited[-1]["reason"] == shown["overbilling_override_reason"]
    assert sorted(line["code"] for line in audited[-1]["lines"]) == over


def check_billing_summary(
    model: BillingModel, shown: list[dict[str, Any]], summary: dict[str, Any]
) -> None:
    """Line 8 of the certificates (``shown`` in number order) sums to what is certified, which
    is line 6 of the last; nothing is paid beyond a certificate's line 8."""
    certified = [pay_app["summary"] for pay_app in shown if pay_app["status"] in CERTIFIED]
    line_8s = sum((Decimal(c["current_payment_due"]) for c in certified), ZERO)
    last = certified[-1] if certified else None
    assert summary["certified_to_date"] == text(line_8s)
    assert summary["certified_to_date"] == (last["total_earned_less_retainage"] if last else "0.00")
    assert summary["billed_to_date"] == (last["total_completed_and_stored"] if last else "0.00")
    assert summary["retainage_held"] == (last["total_retainage"] if last else "0.00")
    assert [c["application_number"] for c in summary["certificates"]] == [
        pay_app["number"] for pay_app in shown if pay_app["status"] in CERTIFIED
    ]
    paid = sum((Decimal(pay_app["paid_to_date"]) for pay_app in shown), ZERO)
    assert text(paid) == text(sum((a.paid for a in model.apps), ZERO))
    # A certificate settled below zero counts as paid back.
    paid_back = sum((min(ZERO, Decimal(c["current_payment_due"])) for c in certified), ZERO)
    assert summary["paid_to_date"] == text(paid + paid_back)
    assert summary["credit_balance"] == text(model.credit)
    for pay_app in shown:
        due = Decimal(pay_app["summary"]["current_payment_due"])
        assert Decimal(pay_app["paid_to_date"]) <= max(due, ZERO), "paid above what is due"
    pending = [
        Decimal(pay_app["summary"]["current_payment_due"])
        for pay_app in shown
        if pay_app["status"] in ("under_review", "revise_and_resubmit", "approved")
    ]
    assert summary["awaiting_certification"] == text(sum(pending, ZERO))


def check_void_and_paid_are_terminal(
    terminal: dict[str, str], pay_app_id: str, status: str
) -> None:
    """``terminal`` keeps the void or paid status each pay app was first seen in."""
    if pay_app_id in terminal:
        assert status == terminal[pay_app_id], "void and paid are terminal"
    elif status in ("void", "paid"):
        terminal[pay_app_id] = status


def check_refusal(expect: Expect, answer: dict[str, Any]) -> None:
    if expect.status is not None:
        assert answer["status"] == expect.status, answer
    if expect.allowed is not None:
        assert answer["allowed_actions"] == expect.allowed, answer
    assert expect.message in answer["message"], answer
    if expect.field is not None:
        assert [error["field"] for error in answer["errors"]] == [expect.field], answer
    if expect.over_billed is not None:
        assert answer["error"] == "over_billing"
        assert [line["code"] for line in answer["over_billed_lines"]] == expect.over_billed


class AuditTrail:
    """The audit events of an example's project, and which of them a check has seen (all of them
    when the example has opened its commitment and first period)."""

    def __init__(self, engine: Engine, project_id: str) -> None:
        self.engine, self.project_id = engine, project_id
        self.seen = {event.id for event in self.events()}
        self.last_event: AuditEvent | None = None
        """The event of the last change checked."""

    def events(self) -> list[AuditEvent]:
        with Session(self.engine) as session:
            query = select(AuditEvent).where(AuditEvent.project_id == self.project_id)
            return list(session.exec(query.order_by(col(AuditEvent.at), col(AuditEvent.id))))

    def check_events(self, expect: Expect | None, pay_app_id: str = "") -> None:
        """One audit event for a change, with its action and move; none for a refusal."""
        new = [
            event
            for event in self.events()
            if event.id not in self.seen and event.entity_type != "invitation"
        ]
        self.seen |= {event.id for event in new}
        if expect is None or expect.event is None:
            assert new == [], [(e.entity_type, e.action) for e in new]
            return
        assert len(new) == 1, [(e.entity_type, e.action) for e in new]
        event = new[0]
        assert (event.entity_type, event.action, event.from_state, event.to_state) == (
            "pay_app",
            *expect.event,
        )
        assert event.entity_id == pay_app_id
        self.last_event = event

    def check_period_closed_and_opened(self) -> None:
        """Closing a period and opening the next leave one event each (besides the invitation's)."""
        new = [event for event in self.events() if event.id not in self.seen]
        assert sorted((e.entity_type, e.action) for e in new if e.entity_type != "invitation") == [
            ("billing_period", "close"),
            ("billing_period", "open"),
        ]
        self.seen |= {event.id for event in new}


class PromisedEmails:
    """The emails the steps promised, by kind: the reviewer's "for review" (a part of its
    subject), the contact's "ready for payment" (the subject's start and end, split by ``|``)
    and "please revise" (a part of its plain-text body)."""

    def __init__(self, smtp: SmtpTestServer, commitment: Commitment) -> None:
        self.smtp, self.commitment = smtp, commitment
        self.promised: dict[str, list[str]] = {"ready": [], "revise": [], "review": []}

    def promise(self, kind: str, part: str) -> None:
        self.promised[kind].append(part)

    def arrived(self) -> bool:
        return all(
            len(self.mails(kind, part)) >= parts.count(part)
            for kind, parts in self.promised.items()
            for part in parts
        )

    def check_counts(self) -> None:
        for kind, parts in self.promised.items():
            for part in set(parts):
                assert len(self.mails(kind, part)) == parts.count(part), (kind, part)

    def mails(self, kind: str, part: str) -> list[str]:
        """Subjects (and for a send-back, the plain-text body) of this example's emails."""
        contact_email = self.commitment.contact_email
        if kind == "review":
            found = messages_to(self.smtp, "pm@gc.example", "for review")
            return [
                str(m["Subject"])
                for m in found
                if self.commitment.number in str(m["Subject"]) and part in str(m["Subject"])
            ]
        if kind == "ready":
            found = messages_to(self.smtp, contact_email, "ready for payment")
            start, end = part.split("|")
            return [
                str(m["Subject"])
                for m in found
                if start in str(m["Subject"]) and str(m["Subject"]).endswith(end)
            ]
        bodies = []
        for message in messages_to(self.smtp, contact_email, "please revise"):
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            bodies.append(body.get_content())
        return [body for body in bodies if part in body]
