"""A commitment as in DESIGN.md's example, seeded through the real services, and a small driver
that runs each service call in its own transaction, as one HTTP request would."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import col, select

from paydraw import actors
from paydraw.actors import Actor
from paydraw.audit import events_for
from paydraw.commitments import service as commitments
from paydraw.commitments.schemas import (
    ChangeOrderCreate,
    ChangeOrderLineIn,
    CommitmentCreate,
    ContactIn,
    DrawIn,
    RetainageIn,
    SovLineIn,
)
from paydraw.db.engine import session_scope
from paydraw.db.tables import AuditEvent, BillingPeriod, EmailOutbox
from paydraw.domain.transitions import Role
from paydraw.pay_apps import service
from paydraw.pay_apps.notify import Links
from paydraw.pay_apps.schemas import (
    LineAmount,
    PayAppCreate,
    PayAppPublic,
    PaymentCreate,
    PerLineAmounts,
    Review,
)
from paydraw.projects import service as projects
from paydraw.projects.schemas import MemberAdd, ProjectCreate
from paydraw.settings import Settings
from paydraw.users.service import ensure_user

T = TypeVar("T")

ADMIN_EMAIL = "ap@gc.example"
REVIEWER_EMAIL = "pm@gc.example"
CONTACT_EMAIL = "billing@acme.example"
CONTACT = actors.contact(CONTACT_EMAIL)
PUBLIC_URL = "http://paydraw.test"
# Where the pay-app emails point; the worker passes its own settings' public address and key.
LINKS = Links(Settings(secret_key="test-secret", public_url=PUBLIC_URL))
DESIGN_SOV = [
    ("01", "Mobilization", "5000.00"),
    ("02", "Framing", "60000.00"),
    ("03", "Windows", "35000.00"),
]


@dataclass
class Job:
    """One project with one commitment and its billing periods, driven through the services."""

    engine: Engine
    admin: Actor
    reviewer: Actor
    commitment_id: str
    project_id: str
    lines: dict[str, str]
    """SOV line ids by code."""
    draws: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)

    def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`call(session, *args, **kwargs)` in a transaction of its own, rolled back if it
        raises."""
        with session_scope(self.engine) as session:
            return call(session, *args, **kwargs)

    def period(self) -> str:
        """Close the open period, if any, and open the next month."""
        with session_scope(self.engine) as session:
            query = select(BillingPeriod).where(
                BillingPeriod.project_id == self.project_id, BillingPeriod.status == "open"
            )
            for open_period in session.exec(query):
                open_period.status = "closed"
                session.add(open_period)
            session.flush()
            start = date.today() - timedelta(days=10) + timedelta(days=31 * len(self.periods))
            period = BillingPeriod(
                project_id=self.project_id,
                start_date=start,
                end_date=start + timedelta(days=30),
                due_date=start + timedelta(days=40),
            )
            session.add(period)
        self.periods.append(period.id)
        return period.id

    def create(
        self,
        amounts: dict[str, str | tuple[str, str]] | None = None,
        *,
        role: Role = Role.ADMIN,
        actor: Actor | None = None,
        period_id: str | None = None,
        **fields: Any,
    ) -> PayAppPublic:
        """A pay app billing `amounts` (work, or (work, stored), per line code), or as `fields`
        say (`entry=...`, `kind=...`)."""
        if amounts is not None:
            fields["entry"] = self.amounts(amounts)
        request = PayAppCreate.model_validate(fields)
        return self.run(
            service.create,
            actor or self.admin,
            role,
            self.commitment_id,
            period_id or self.periods[-1],
            request,
        )

    def amounts(self, amounts: dict[str, str | tuple[str, str]]) -> PerLineAmounts:
        lines = []
        for code, amount in amounts.items():
            work, stored = (amount, None) if isinstance(amount, str) else amount
            lines.append(
                LineAmount(
                    sov_line_id=self.lines[code],
                    work_this_period=Decimal(work),
                    materials_stored=None if stored is None else Decimal(stored),
                )
            )
        return PerLineAmounts(mode="per_line_amounts", lines=lines)

    def submit(self, pay_app_id: str, role: Role = Role.ADMIN) -> PayAppPublic:
        return self.run(service.submit, self.admin, role, pay_app_id, links=LINKS)

    def review(self, pay_app_id: str, role: Role = Role.REVIEWER, **fields: Any) -> PayAppPublic:
        return self.run(
            service.review,
            self.reviewer,
            role,
            pay_app_id,
            Review.model_validate(fields),
            links=LINKS,
        )

    def approve(self, pay_app_id: str) -> PayAppPublic:
        return self.review(pay_app_id, decision="approve")

    def finalize(self, pay_app_id: str, role: Role = Role.ADMIN) -> PayAppPublic:
        return self.run(service.finalize, self.admin, role, pay_app_id, links=LINKS)

    def certify(self, pay_app_id: str) -> PayAppPublic:
        """Submit, approve and finalize."""
        self.submit(pay_app_id)
        self.approve(pay_app_id)
        return self.finalize(pay_app_id)

    def pay(self, pay_app_id: str, amount: str, method: str = "check") -> PayAppPublic:
        request = PaymentCreate(amount=Decimal(amount), method=method, paid_on=date.today())
        return self.run(
            service.record_payment, self.admin, Role.ADMIN, pay_app_id, request, links=LINKS
        )

    def void(self, pay_app_id: str, reason: str = "billed in error") -> PayAppPublic:
        return self.run(service.void, self.admin, Role.ADMIN, pay_app_id, reason)

    def get(self, pay_app_id: str, role: Role = Role.ADMIN) -> PayAppPublic:
        return self.run(service.get, role, pay_app_id)

    def change_order(self, number: str, *lines: ChangeOrderLineIn) -> None:
        request = ChangeOrderCreate(number=number, lines=list(lines))
        self.run(commitments.add_change_order, self.admin, self.commitment_id, request)
        commitment = self.run(commitments.get_commitment, self.admin, self.commitment_id)
        self.lines = {line.code: line.id for line in commitment.sov_lines}

    def events(self, entity_id: str) -> list[AuditEvent]:
        return self.run(events_for, entity_id)

    def emails(self, kind: str) -> list[EmailOutbox]:
        query = select(EmailOutbox).where(EmailOutbox.kind == kind)
        return self.run(lambda session: list(session.exec(query.order_by(col(EmailOutbox.id)))))


def design_job(
    engine: Engine,
    *,
    overbilling_policy: str = "block",
    stored_materials_rollover: bool = True,
    draws: list[tuple[str, str]] | None = None,
    approve_sov: bool = True,
) -> Job:
    """DESIGN.md's commitment: $100,000 over three lines, 10% retainage, an approved SOV (unless
    told), one reviewer, one invoice contact and an open billing period."""
    with session_scope(engine) as session:
        admin_user = ensure_user(session, ADMIN_EMAIL)
        admin = actors.user(admin_user.id, admin_user.email)
        project = projects.create_project(
            session,
            admin,
            ProjectCreate(
                name="Harbor View Tower",
                overbilling_policy=overbilling_policy,
                stored_materials_rollover=stored_materials_rollover,
            ),
        )
        projects.add_member(
            session, admin, project.id, MemberAdd(email=REVIEWER_EMAIL, role="reviewer")
        )
        reviewer_user = ensure_user(session, REVIEWER_EMAIL)
        commitment = commitments.create_commitment(
            session,
            admin,
            project.id,
            CommitmentCreate(
                number="SC-001",
                vendor_name="Acme Framing LLC",
                contacts=[ContactIn(name="Pat Billing", email=CONTACT_EMAIL)],
                retainage=RetainageIn(percent=Decimal("10")),
                sov_lines=[
                    SovLineIn(code=code, description=description, scheduled_value=Decimal(value))
                    for code, description, value in DESIGN_SOV
                ],
                draws=[DrawIn(name=name, amount=Decimal(amount)) for name, amount in draws or []],
            ),
        )
        if approve_sov:
            commitment = commitments.approve_sov(session, admin, commitment.id)
    job = Job(
        engine=engine,
        admin=admin,
        reviewer=actors.user(reviewer_user.id, reviewer_user.email),
        commitment_id=commitment.id,
        project_id=project.id,
        lines={line.code: line.id for line in commitment.sov_lines},
        draws=[draw.id for draw in commitment.draws],
    )
    job.period()
    return job
