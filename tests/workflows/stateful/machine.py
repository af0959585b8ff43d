"""The state machine's rules: an example opens a commitment on drawn terms, then takes random
pay-app steps (create in every entry mode, edit, delete, submit, review, finalize, pay, void,
repeat a request, close and open periods). Each step is predicted by the model, sent through the
HTTP API and checked; after every step the invariant reads every pay app and the billing summary
back, and at the end of an example the promised emails must have arrived."""

import itertools
from decimal import Decimal
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from paydraw.display import money as shown_as_money
from tests.workflows.helpers import wait_for
from tests.workflows.stateful.bodies import (
    Entry,
    decisions,
    entries,
    lines_body,
    review_body,
    tenths,
)
from tests.workflows.stateful.checks import (
    AuditTrail,
    PromisedEmails,
    check_billing_summary,
    check_no_line_over_without_an_audited_override,
    check_pay_app,
    check_refusal,
    check_void_and_paid_are_terminal,
)
from tests.workflows.stateful.model import (
    CENT,
    CERTIFIED,
    CODES,
    SOV,
    UNFINISHED,
    ZERO,
    BillingModel,
    PayAppModel,
    money,
    text,
)
from tests.workflows.stateful.predictions import (
    Expect,
    predict_create,
    predict_edit,
    predict_finalize,
    predict_payment,
    predict_review,
    predict_submit,
    predict_void,
    wrong_state,
)
from tests.workflows.stateful.world import Commitment, Sent, World

OVERRIDE = "owner approved the extra work"
SEND_BACK = "check the quantity on line"

_examples = itertools.count(1)
_keys = itertools.count(1)


class PayAppsThroughTheApi(RuleBasedStateMachine):
    world: ClassVar[World]

    def __init__(self) -> None:
        super().__init__()
        self.n = next(_examples)
        self.model = BillingModel()
        self.deleted: list[str] = []
        self.terminal: dict[str, str] = {}
        self.last_request: Sent | None = None

    # -- set-up ----------------------------------------------------------------------------------

    @initialize(
        policy=st.sampled_from(["block", "warn"]),
        rollover=st.booleans(),
        rate=st.sampled_from(["0", "5", "10", "7.5"]).map(Decimal),
        past_due=st.sampled_from([False, False, False, True]),
    )
    def open_a_commitment(self, policy: str, rollover: bool, rate: Decimal, past_due: bool) -> None:
        self.model.policy, self.model.rollover, self.model.rate = policy, rollover, rate
        self.commitment: Commitment = self.world.open_commitment(self.n, self.model)
        self.emails = PromisedEmails(self.world.smtp, self.commitment)
        self.open_period(past_due)
        self.trail = AuditTrail(self.world.engine, self.commitment.project_id)

    def open_period(self, past_due: bool) -> None:
        periods = self.model.periods
        periods.append(self.world.open_period(self.commitment, len(periods), past_due))

    # -- the actions -----------------------------------------------------------------------------

    @rule(
        by=st.sampled_from(["admin", "contact"]),
        entry=entries,
        override=st.sampled_from(["", OVERRIDE]),
    )
    def create(self, by: str, entry: Entry, override: str) -> None:
        """The admin creates on the contact's behalf; the contact fills in the period's pay app
        (which creates it, or edits the one there is)."""
        period = self.model.periods[-1]
        body = lines_body(entry, override, self.commitment.sov)
        live = self.model.live_in(len(self.model.periods) - 1)
        if by == "contact":
            path = "/api/v1/contact/pay-app/lines"
            if live is not None:
                self.fill(live, entry, override, "PUT", path, period.contact, body, contact=True)
                return
            expect = predict_create(self.model, entry, override, contact=True)
            answer = self.attempt(expect, "PUT", path, period.contact, body)
        else:
            commitment_id = self.commitment.id
            path = f"/api/v1/billing-periods/{period.id}/commitments/{commitment_id}/pay-apps"
            expect = predict_create(self.model, entry, override, contact=False)
            answer = self.attempt(expect, "POST", path, self.world.admin, body)
        if answer is not None:
            self.model.apps.append(self.model.pending)
            self.model.pending.id = answer["id"]

    @precondition(lambda self: bool(self.model.targets()))
    @rule(which=st.integers(0), entry=entries, override=st.sampled_from(["", OVERRIDE]))
    def edit_lines(self, which: int, entry: Entry, override: str) -> None:
        app = self.model.target(which)
        path = f"/api/v1/pay-apps/{app.id}/lines"
        body = lines_body(entry, override, self.commitment.sov)
        self.fill(app, entry, override, "PUT", path, self.world.admin, body)

    @precondition(lambda self: bool(self.model.targets()))
    @rule(which=st.integers(0))
    def delete_draft(self, which: int) -> None:
        app = self.model.target(which)
        expect = Expect(204, event=("delete", "draft", None))
        if app.status != "draft":
            expect = wrong_state(self.model, app)
        path = f"/api/v1/pay-apps/{app.id}"
        if self.attempt(expect, "DELETE", path, self.world.admin, about=app.id) is not None:
            self.model.apps.remove(app)
            self.deleted.append(app.id)

    @precondition(lambda self: bool(self.model.targets()))
    @rule(which=st.integers(0), by=st.sampled_from(["admin", "contact"]))
    def submit(self, which: int, by: str) -> None:
        if by == "contact":
            live = self.model.live_in(len(self.model.periods) - 1)
            period = self.model.periods[-1]
            if live is None:
                expect = Expect(404, message="no pay app yet")
                self.attempt(expect, "POST", "/api/v1/contact/pay-app/submit", period.contact)
                return
            app, headers, path = live, period.contact, "/api/v1/contact/pay-app/submit"
        else:
            app = self.model.target(which)
            headers, path = self.world.admin, f"/api/v1/pay-apps/{app.id}/submit"
        action = "resubmit" if app.status == "revise_and_resubmit" else "submit"
        expect = predict_submit(self.model, app, action, contact=by == "contact")
        if self.attempt(expect, "POST", path, headers, about=app.id) is not None:
            app.status = "under_review"
            self.emails.promise("review", f"#{app.number} ")

    @precondition(lambda self: bool(self.model.targets()))
    @rule(
        which=st.integers(0),
        decision=decisions,
        code=st.sampled_from(CODES),
        adjusted=tenths,
        by=st.sampled_from(["reviewer", "reviewer", "admin"]),
        override=st.sampled_from(["", OVERRIDE]),
    )
    def review(
        self, which: int, decision: str, code: str, adjusted: int, by: str, override: str
    ) -> None:
        """The reviewer's decision; as noted, one line's work becomes `adjusted` tenths of its
        scheduled value (or the line is not approved and bills nothing new)."""
        app = self.model.target(which)
        work = SOV[code] * adjusted / 10
        sov_line_id, send_back = self.commitment.sov[code], f"{SEND_BACK} {code}"
        body = review_body(decision, sov_line_id, work, override, send_back)
        headers = self.world.reviewer if by == "reviewer" else self.world.admin
        expect, bill, new_override = predict_review(self.model, app, decision, code, work, override)
        path = f"/api/v1/pay-apps/{app.id}/review"
        if self.attempt(expect, "POST", path, headers, body) is not None:
            app.bill, app.override = bill, new_override
            app.status = "revise_and_resubmit" if decision == "revise" else "approved"
            if decision == "revise":
                self.emails.promise("revise", f"{SEND_BACK} {code}")

    @precondition(lambda self: bool(self.model.targets()))
    @rule(which=st.integers(0), by=st.sampled_from(["admin", "admin", "reviewer"]))
    def finalize(self, which: int, by: str) -> None:
        app = self.model.target(which)
        expect = predict_finalize(self.model, app, by)
        headers = self.world.reviewer if by == "reviewer" else self.world.admin
        if self.attempt(expect, "POST", f"/api/v1/pay-apps/{app.id}/finalize", headers) is not None:
            app.certificate = self.model.figures(app).summary
            due = app.due
            app.status = "paid" if due <= 0 else "finalized"
            self.model.credit += max(ZERO, -due)
            if due > 0:
                vendor_name = self.commitment.vendor_name
                self.emails.promise(
                    "ready", f"#{app.number} from {vendor_name}, |, {shown_as_money(due)}"
                )

    @precondition(lambda self: bool(self.model.targets()))
    @rule(
        which=st.integers(0),
        share=st.sampled_from(["half", "all", "a cent more"]),
        method=st.sampled_from(["check", "ach", "credit_balance"]),
    )
    def pay(self, which: int, share: str, method: str) -> None:
        app = self.model.target(which)
        remaining = app.due - app.paid
        amount = {
            "half": max(CENT, money(remaining / 2)),
            "all": max(CENT, remaining),
            "a cent more": max(CENT, remaining + CENT),
        }[share]
        expect = predict_payment(self.model, app, amount, method)
        body = {
            "amount": text(amount),
            "method": method,
            "reference": "1042",
            "paid_on": "2026-06-30",
        }
        path = f"/api/v1/pay-apps/{app.id}/payments"
        if self.attempt(expect, "POST", path, self.world.admin, body) is not None:
            app.paid += amount
            if method == "credit_balance":
                self.model.credit -= amount
            if app.paid >= app.due:
                app.status = "paid"

    @precondition(lambda self: bool(self.model.targets()))
    @rule(which=st.integers(0), reason=st.sampled_from(["billed twice", "billed twice", "  "]))
    def void(self, which: int, reason: str) -> None:
        app = self.model.target(which)
        expect = predict_void(self.model, app, reason)
        path = f"/api/v1/pay-apps/{app.id}/void"
        if self.attempt(expect, "POST", path, self.world.admin, {"reason": reason}) is not None:
            app.status = "void"

    @precondition(lambda self: bool(self.model.targets()))
    @rule(which=st.integers(0))
    def certify(self, which: int) -> None:
        """Submit, approve and finalize one pay app, each a step of its own that may be refused,
        so that examples reach certificates and payments often."""
        self.submit(which, "admin")
        self.review(which, "approve", CODES[0], 0, "reviewer", "")
        self.finalize(which, "admin")

    @precondition(
        lambda self: (
            self.last_request is not None
            and self.last_request.pay_app_id in {app.id for app in self.model.targets()}
        )
    )
    @rule(restart=st.sampled_from([False, False, True]))
    def repeat_the_last_request(self, restart: bool) -> None:
        """The same Idempotency-Key again, or after the API restarted: the first answer, and
        nothing changes."""
        sent = self.last_request
        assert sent is not None
        if restart:
            self.world.restart_the_api()
        again = self.world.call(sent.method, sent.path, sent.headers, sent.body, sent.key)
        assert again.status_code == sent.response.status_code, again.text
        assert again.json() == sent.response.json()
        assert again.headers["idempotent-replayed"] == "true"
        self.trail.check_events(None)

    @precondition(
        lambda self: (
            self.last_request is not None
            and self.last_request.pay_app_id in {app.id for app in self.model.targets()}
        )
    )
    @rule()
    def another_admin_uses_the_last_key_for_notes(self) -> None:
        """A key belongs to its caller: another admin's change of the pay app's notes under the
        same key is an action of its own, not answered with the first caller's answer."""
        sent = self.last_request
        assert sent is not None
        [app] = [app for app in self.model.apps if app.id == sent.pay_app_id]
        notes = f"Invoice {next(_keys)}"
        if app.status in UNFINISHED:
            expect = Expect(200, event=("edit_details", app.status, app.status))
        else:
            expect = wrong_state(self.model, app)
        path = f"/api/v1/pay-apps/{app.id}"
        answer = self.world.call("PATCH", path, self.world.other_admin, {"notes": notes}, sent.key)
        assert answer.status_code == expect.code, answer.text
        if expect.code == 200:
            assert answer.json()["notes"] == notes
            self.trail.check_events(expect, app.id)
        else:
            check_refusal(expect, answer.json())
            self.trail.check_events(None)
        self.last_request = None  # the key is the other admin's too now

    # A period is closed once its pay app was certified or void and no draft is left in it, as
    # a GC would (a draft left at close has a test of its own); this also keeps an example in
    # one period long enough to get somewhere.
    @precondition(
        lambda self: (
            len(self.model.periods) < 4
            and not self.model.fully_billed()
            and all(app.status != "draft" for app in self.model.in_period(-1))
            and any(app.status in (*CERTIFIED, "void") for app in self.model.in_period(-1))
        )
    )
    @rule(past_due=st.sampled_from([False, False, False, True]))
    def close_and_open_the_next_period(self, past_due: bool) -> None:
        period = self.model.periods[-1]
        path = f"/api/v1/billing-periods/{period.id}/close"
        closed = self.world.ok("POST", path, self.world.admin)
        assert closed["status"] == "closed"
        period.closed = True
        self.last_request = None
        self.open_period(past_due)
        self.trail.check_period_closed_and_opened()

    # -- the invariant and the end of an example -------------------------------------------------

    @invariant()
    def the_pay_apps_and_the_billing_summary_read_as_the_model_says(self) -> None:
        shown = {}
        for app in self.model.apps:
            response = self.world.call("GET", f"/api/v1/pay-apps/{app.id}", self.world.admin)
            assert response.status_code == 200, response.text
            shown[app.id] = response.json()
            check_pay_app(self.model, app, shown[app.id])
            check_no_line_over_without_an_audited_override(
                self.model.policy, app, shown[app.id], self.trail
            )
            check_void_and_paid_are_terminal(self.terminal, app.id, shown[app.id]["status"])
        for deleted in self.deleted:
            response = self.world.call("GET", f"/api/v1/pay-apps/{deleted}", self.world.admin)
            assert response.status_code == 404, "a deleted draft is gone"
        path = f"/api/v1/commitments/{self.commitment.id}/billing-summary"
        response = self.world.call("GET", path, self.world.admin)
        assert response.status_code == 200, response.text
        by_number = sorted(shown.values(), key=lambda pay_app: int(pay_app["number"]))
        check_billing_summary(self.model, by_number, response.json())

    def teardown(self) -> None:
        """The emails the steps promised reached the contact and the reviewer."""
        if not self.model.periods:
            return
        self.world.run(wait_for(self.emails.arrived, timeout=30, what="the pay app emails"))
        self.emails.check_counts()

    # -- sending a step --------------------------------------------------------------------------

    def attempt(
        self,
        expect: Expect,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any = None,
        about: str | None = None,
    ) -> Any:
        """Send the request; check the answer is the one predicted and that the audit trail
        grew by exactly the change (or not at all). The answer's body when it succeeded."""
        key = f"step-{self.n}-{next(_keys)}"
        response = self.world.call(method, path, headers, body, key)
        assert response.status_code == expect.code, (expect, response.text)
        answer = response.json() if response.content else {}
        if expect.code >= 300:
            check_refusal(expect, answer)
            self.trail.check_events(None)
            return None
        self.trail.check_events(expect, about or answer["id"])
        if method != "DELETE":
            event = self.trail.last_event
            self.last_request = Sent(method, path, headers, body, key, response, event)
        return answer

    def fill(
        self,
        app: PayAppModel,
        entry: Entry,
        override: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any],
        contact: bool = False,
    ) -> None:
        """New amounts for `app`, from the admin's or the contact's edit."""
        expect, bill = predict_edit(self.model, app, entry, override, contact)
        if self.attempt(expect, method, path, headers, body, app.id) is not None:
            app.bill, app.override = bill, self.model.new_override(app, bill, override)
