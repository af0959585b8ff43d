"""Random sequences of pay app actions through the service, with the money invariants checked
after every step (each example bills a fresh commitment in the same database)."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from paydraw.commitments.repository import credit_balance
from paydraw.db.tables import AuditEvent, PayApp
from paydraw.domain.errors import DomainError
from paydraw.domain.transitions import Role
from paydraw.pay_apps import service
from paydraw.pay_apps.schemas import PayAppCreate, PayAppLinesEdit, PaymentCreate, Review
from tests.pay_apps.builders import LINKS, Job, design_job

CODES = ("01", "02", "03")
# The steps that email someone, with the links those emails carry.
submit_step = partial(service.submit, links=LINKS)
resubmit_step = partial(service.resubmit, links=LINKS)
pay_step = partial(service.record_payment, links=LINKS)
review_step = partial(service.review, links=LINKS)
finalize_step = partial(service.finalize, links=LINKS)
work = st.integers(min_value=0, max_value=12000).map(Decimal)
correction = st.integers(min_value=-1000, max_value=12000).map(Decimal)
"""A reviewer's amount, which may take back some of what was billed before."""
stored = st.one_of(st.none(), st.integers(min_value=0, max_value=6000).map(Decimal))
amounts = st.dictionaries(st.sampled_from(CODES), st.tuples(work, stored), min_size=1)
money = st.integers(min_value=1, max_value=30000).map(Decimal)
TERMINAL = ("void", "paid")


def per_line(job: Job, billed: dict[str, tuple[Decimal, Decimal | None]]) -> dict[str, object]:
    return {
        "mode": "per_line_amounts",
        "lines": [
            {"sov_line_id": job.lines[code], "work_this_period": e, "materials_stored": f}
            for code, (e, f) in billed.items()
        ],
    }


class PayAppMachine(RuleBasedStateMachine):
    engine: Engine

    def __init__(self) -> None:
        super().__init__()
        self.job: Job
        self.pay_app_ids: list[str] = []
        self.terminal: dict[str, str] = {}
        self.events_before = 0
        self.changes = 0

    @initialize(policy=st.sampled_from(["block", "warn"]), rollover=st.booleans())
    def open_a_commitment(self, policy: str, rollover: bool) -> None:
        self.job = design_job(
            self.engine, overbilling_policy=policy, stored_materials_rollover=rollover
        )
        self.events_before = self.audit_events()

    # -- the actions ----------------------------------------------------------------------------

    @rule(
        billed=amounts, override=st.sampled_from(["", "owner approved"]), new_period=st.booleans()
    )
    def create(
        self, billed: dict[str, tuple[Decimal, Decimal | None]], override: str, new_period: bool
    ) -> None:
        if new_period:
            self.job.period()
        request = PayAppCreate.model_validate(
            {"entry": per_line(self.job, billed), "overbilling_override_reason": override}
        )
        created = self.attempt(
            service.create,
            self.job.admin,
            Role.ADMIN,
            self.job.commitment_id,
            self.job.periods[-1],
            request,
        )
        if created is not None:
            self.pay_app_ids.append(created.id)

    @precondition(lambda self: bool(self.pay_app_ids))
    @rule(billed=amounts, override=st.sampled_from(["", "owner approved"]))
    def edit_lines(self, billed: dict[str, tuple[Decimal, Decimal | None]], override: str) -> None:
        request = PayAppLinesEdit.model_validate(
            {"entry": per_line(self.job, billed), "overbilling_override_reason": override}
        )
        self.act(service.edit_lines, Role.CONTACT, request)

    @precondition(lambda self: bool(self.pay_app_ids))
    @rule(resubmit=st.booleans())
    def submit(self, resubmit: bool) -> None:
        self.act(resubmit_step if resubmit else submit_step, Role.CONTACT)

    @precondition(lambda self: bool(self.pay_app_ids))
    @rule(
        decision=st.sampled_from(["approve", "approve_as_noted", "revise"]),
        code=st.sampled_from(CODES),
        adjusted=correction,
    )
    def review(self, decision: str, code: str, adjusted: Decimal) -> None:
        line: dict[str, object] = {"sov_line_id": self.job.lines[code], "reason": "", "note": ""}
        if decision == "approve_as_noted":
            line |= {"work_this_period": adjusted, "note": "measured on site"}
        if decision == "revise":
            line |= {"approved": False, "reason": "check the quantity"}
        lines = [] if decision == "approve" else [line]
        self.act(
            review_step,
            Role.REVIEWER,
            Review.model_validate({"decision": decision, "lines": lines}),
        )

    @precondition(lambda self: bool(self.pay_app_ids))
    @rule()
    def finalize(self) -> None:
        self.act(finalize_step, Role.ADMIN)

    @precondition(lambda self: bool(self.pay_app_ids))
    @rule(
        which=st.integers(min_value=0),
        share=st.sampled_from(["0.5", "1", "1.01"]).map(Decimal),
        credit=st.booleans(),
    )
    def pay(self, which: int, share: Decimal, credit: bool) -> None:
        """Half, all, or a little more than what is still due on one of the pay apps."""
        pay_app_id = self.pay_app_ids[which % len(self.pay_app_ids)]
        amount = (self.job.get(pay_app_id).remaining_due * share).quantize(Decimal("0.01"))
        method = "credit_balance" if credit else "check"
        if amount > 0:
            request = PaymentCreate(amount=amount, method=method, paid_on=date(2025, 6, 30))
            self.attempt(pay_step, self.job.admin, Role.ADMIN, pay_app_id, request)

    @rule(amount=money)
    def add_credit(self, amount: Decimal) -> None:
        self.attempt(
            service.add_credit,
            self.job.admin,
            Role.ADMIN,
            self.job.commitment_id,
            amount,
            "deposit",
        )

    @precondition(lambda self: bool(self.pay_app_ids))
    @rule(which=st.integers(min_value=0), reason=st.sampled_from(["", "billed twice"]))
    def void(self, which: int, reason: str) -> None:
        self.act(service.void, Role.ADMIN, reason, which=which)

    @precondition(lambda self: bool(self.pay_app_ids))
    @rule()
    def certify(self) -> None:
        """Submit, approve and finalize the latest pay app, each step a change of its own that
        may be refused, so that examples reach certificates and payments often."""
        self.act(submit_step, Role.ADMIN)
        self.act(resubmit_step, Role.ADMIN)
        self.act(review_step, Role.REVIEWER, Review(decision="approve"))
        self.act(finalize_step, Role.ADMIN)

    @precondition(lambda self: bool(self.pay_app_ids))
    @rule()
    def delete_draft(self) -> None:
        self.act(service.delete_draft, Role.CONTACT)

    # -- the invariants -------------------------------------------------------------------------

    @invariant()
    def one_audit_event_per_change(self) -> None:
        events = self.audit_events()
        assert events - self.events_before == self.changes
        self.events_before, self.changes = events, 0

    @invariant()
    def money_adds_up(self) -> None:
        certified = Decimal("0.00")
        last_certificate = Decimal("0.00")
        for pay_app in self.pay_apps():
            public = self.job.get(pay_app.id)
            if public.status != "void" and not pay_app.overbilling_override_reason:
                assert all(
                    line.completed_and_stored <= line.scheduled_value for line in public.lines
                )
            assert public.paid_to_date <= max(pay_app.current_payment_due, Decimal("0.00"))
            if public.status in ("finalized", "paid"):
                certified += pay_app.current_payment_due
                last_certificate = pay_app.total_earned_less_retainage
        assert certified == last_certificate
        assert self.job.run(credit_balance, self.job.commitment_id) >= 0

    @invariant()
    def void_and_paid_are_terminal(self) -> None:
        for pay_app in self.pay_apps():
            if pay_app.id in self.terminal:
                assert pay_app.status == self.terminal[pay_app.id]
            elif pay_app.status in TERMINAL:
                self.terminal[pay_app.id] = pay_app.status

    # -- helpers --------------------------------------------------------------------------------

    def act(
        self, call: Callable[..., Any], role: Role, *args: object, which: int | None = None
    ) -> None:
        """`call` on the latest pay app (or the `which`-th, wrapping), as `role`."""
        index = -1 if which is None else which % len(self.pay_app_ids)
        actor = self.job.reviewer if role == Role.REVIEWER else self.job.admin
        self.attempt(call, actor, role, self.pay_app_ids[index], *args)

    def attempt(self, call: Callable[..., Any], *args: object) -> Any:
        """The call's answer, or None when the service refuses it (and so changes nothing)."""
        try:
            answer = self.job.run(call, *args)
        except (DomainError, ValidationError):
            return None
        self.changes += 1
        if call is service.delete_draft:
            self.pay_app_ids.pop()
        return answer

    def pay_apps(self) -> list[PayApp]:
        query = select(PayApp).where(PayApp.commitment_id == self.job.commitment_id)
        return self.job.run(lambda session: list(session.exec(query.order_by(col(PayApp.number)))))

    def audit_events(self) -> int:
        """Events about this commitment's pay apps (deleted ones included) and its credit."""

        def count(session: Session) -> int:
            ids = [*self.pay_app_ids, *self.deleted_ids(session), self.job.commitment_id]
            query = select(AuditEvent.id).where(col(AuditEvent.entity_id).in_(ids))
            return len(list(session.exec(query)))

        return self.job.run(count)

    def deleted_ids(self, session: Session) -> list[str]:
        query = select(AuditEvent.entity_id).where(
            AuditEvent.project_id == self.job.project_id, AuditEvent.action == "delete"
        )
        return list(session.exec(query))


def test_random_billing_keeps_the_money_straight(engine: Engine) -> None:
    PayAppMachine.engine = engine
    machine = PayAppMachine.TestCase
    machine.settings = settings(
        max_examples=20,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine().runTest()
