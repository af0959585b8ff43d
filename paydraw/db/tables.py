"""The database tables. Only repositories touch these; clients see the API's own schemas."""

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from paydraw.db.types import Money, Percent


def new_id(prefix: str) -> Callable[[], str]:
    """Ids that say what they are (``prj_…``) and cannot be guessed."""
    return lambda: f"{prefix}_{secrets.token_hex(10)}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def money_field(default: Decimal | None = Decimal("0.00"), **kwargs: Any) -> Any:
    return Field(default=default, sa_type=Money, **kwargs)


def percent_field(default: Decimal | None = None, **kwargs: Any) -> Any:
    return Field(default=default, sa_type=Percent, **kwargs)


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: str = Field(default_factory=new_id("usr"), primary_key=True)
    email: str = Field(unique=True, index=True)
    name: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    id: str = Field(default_factory=new_id("key"), primary_key=True)
    user_id: str = Field(foreign_key="users.id", index=True)
    key_hash: str = Field(unique=True)
    prefix: str
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    id: str = Field(default_factory=new_id("prj"), primary_key=True)
    name: str
    number: str = ""
    general_contractor: str = ""
    owner: str = ""
    default_retainage_percent: Decimal = percent_field(Decimal("10"))
    overbilling_policy: str = "block"
    stored_materials_rollover: bool = True
    reminder_offsets_days: list[int] = Field(default_factory=lambda: [7, 1], sa_type=JSON)
    billing_cycle_enabled: bool = False
    billing_cycle_start_day: int = 1
    billing_cycle_due_day: int = 25
    terminology: str = "general_contractor"
    currency: str = Field(default="USD", max_length=3)
    # The lien waiver kinds the GC requires (paydraw.domain.waivers.WaiverKind); none by default.
    required_lien_waivers: list[str] = Field(default_factory=list, sa_type=JSON)
    created_by: str = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class SignInLink(SQLModel, table=True):
    """A one-time sign-in link: its signed token names this row, which is spent on first use."""

    __tablename__ = "sign_in_links"
    id: str = Field(default_factory=new_id("sil"), primary_key=True)
    user_id: str = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"
    id: str = Field(primary_key=True)  # the token's hash
    user_id: str = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ended_at: datetime | None = None


class ProjectMember(SQLModel, table=True):
    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)
    id: str = Field(default_factory=new_id("mbr"), primary_key=True)
    project_id: str = Field(foreign_key="projects.id", index=True)
    user_id: str = Field(foreign_key="users.id", index=True)
    role: str
    created_at: datetime = Field(default_factory=utcnow)


class Commitment(SQLModel, table=True):
    __tablename__ = "commitments"
    id: str = Field(default_factory=new_id("cmt"), primary_key=True)
    project_id: str = Field(foreign_key="projects.id", index=True)
    number: str
    title: str = ""
    kind: str = "subcontract"
    vendor_name: str
    # [{"percent": "10", "until_percent_complete": "50"}, {"percent": "5", ...: null}]
    retainage_steps: list[dict[str, str | None]] = Field(sa_type=JSON)
    stored_materials_retainage_percent: Decimal | None = percent_field()
    sov_status: str = "draft"
    sov_approved_at: datetime | None = None
    sov_approved_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    id: str = Field(default_factory=new_id("con"), primary_key=True)
    commitment_id: str = Field(foreign_key="commitments.id", index=True)
    name: str = ""
    email: str
    invoice_contact: bool = True


class SovLine(SQLModel, table=True):
    __tablename__ = "sov_lines"
    id: str = Field(default_factory=new_id("sov"), primary_key=True)
    commitment_id: str = Field(foreign_key="commitments.id", index=True)
    position: int
    code: str
    description: str = ""
    original_value: Decimal = money_field()
    retainage_percent: Decimal | None = percent_field()
    added_by_change_order_id: str | None = None


class ChangeOrder(SQLModel, table=True):
    __tablename__ = "change_orders"
    __table_args__ = (UniqueConstraint("commitment_id", "number"),)
    id: str = Field(default_factory=new_id("cor"), primary_key=True)
    commitment_id: str = Field(foreign_key="commitments.id", index=True)
    number: str
    title: str = ""
    status: str = "pending"
    approved_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ChangeOrderLine(SQLModel, table=True):
    __tablename__ = "change_order_lines"
    id: str = Field(default_factory=new_id("col"), primary_key=True)
    change_order_id: str = Field(foreign_key="change_orders.id", index=True)
    sov_line_id: str = Field(foreign_key="sov_lines.id", index=True)
    amount: Decimal = money_field()


class Draw(SQLModel, table=True):
    __tablename__ = "draws"
    id: str = Field(default_factory=new_id("drw"), primary_key=True)
    commitment_id: str = Field(foreign_key="commitments.id", index=True)
    position: int
    name: str
    amount: Decimal = money_field()
    billed_by_pay_app_id: str | None = None


class BillingPeriod(SQLModel, table=True):
    __tablename__ = "billing_periods"
    __table_args__ = (
        # At most one open period per project, enforced by the database itself.
        Index(
            "one_open_period_per_project",
            "project_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
    id: str = Field(default_factory=new_id("per"), primary_key=True)
    project_id: str = Field(foreign_key="projects.id", index=True)
    start_date: date
    end_date: date
    due_date: date
    status: str = "open"
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None


class Invitation(SQLModel, table=True):
    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("period_id", "commitment_id"),)
    id: str = Field(default_factory=new_id("inv"), primary_key=True)
    period_id: str = Field(foreign_key="billing_periods.id", index=True)
    commitment_id: str = Field(foreign_key="commitments.id", index=True)
    status: str = "not_invited"
    message: str = ""
    invited_at: datetime | None = None
    answered_at: datetime | None = None
    decline_reason: str = ""
    due_date_extended_to: date | None = None
    overdue: bool = False
    email_failure: str = ""


class PayApp(SQLModel, table=True):
    __tablename__ = "pay_apps"
    __table_args__ = (
        UniqueConstraint("commitment_id", "number"),
        # One live pay app per commitment, period and kind; a void one frees the slot.
        Index(
            "one_pay_app_per_period_and_kind",
            "commitment_id",
            "period_id",
            "kind",
            unique=True,
            sqlite_where=text("status != 'void'"),
            postgresql_where=text("status != 'void'"),
        ),
    )
    id: str = Field(default_factory=new_id("pap"), primary_key=True)
    commitment_id: str = Field(foreign_key="commitments.id", index=True)
    period_id: str | None = Field(default=None, foreign_key="billing_periods.id", index=True)
    number: int
    kind: str = "progress"
    status: str = "draft"
    payment_status: str = "unpaid"
    entry_mode: str = "per_line_amounts"
    previous_certificates: Decimal = money_field()
    total_earned_less_retainage: Decimal = money_field()
    current_payment_due: Decimal = money_field()
    certificate: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    overbilling_override_reason: str = ""
    notes: str = Field(default="", sa_type=Text)
    due_terms: str = ""
    attachments: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    review_note: str = Field(default="", sa_type=Text)
    void_reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    finalized_at: datetime | None = None
    voided_at: datetime | None = None


class PayAppAttachment(SQLModel, table=True):
    """A backup document of a pay app: the file is an object in the storage under
    `storage_key`, a key Paydraw made; the row is written only once the object is stored."""

    __tablename__ = "pay_app_attachments"
    id: str = Field(default_factory=new_id("att"), primary_key=True)
    pay_app_id: str = Field(foreign_key="pay_apps.id", index=True)
    storage_key: str = Field(unique=True)
    name: str
    content_type: str
    size: int
    sha256: str
    added_by: str
    added_at: datetime = Field(default_factory=utcnow)


class PayAppLine(SQLModel, table=True):
    __tablename__ = "pay_app_lines"
    __table_args__ = (UniqueConstraint("pay_app_id", "sov_line_id"),)
    id: str = Field(default_factory=new_id("pal"), primary_key=True)
    pay_app_id: str = Field(foreign_key="pay_apps.id", index=True)
    sov_line_id: str = Field(foreign_key="sov_lines.id", index=True)
    work_this_period: Decimal = money_field()
    materials_stored: Decimal = money_field()
    retainage_release: Decimal = money_field()
    retainage_held_work: Decimal = money_field()
    # What the contact submitted, kept when a reviewer approves as noted with other amounts.
    submitted_work: Decimal | None = money_field(None)
    submitted_stored: Decimal | None = money_field(None)
    approved: bool | None = None
    review_reason: str = ""
    review_note: str = ""


class Payment(SQLModel, table=True):
    __tablename__ = "payments"
    id: str = Field(default_factory=new_id("pay"), primary_key=True)
    pay_app_id: str = Field(foreign_key="pay_apps.id", index=True)
    amount: Decimal = money_field()
    method: str
    reference: str = ""
    paid_on: date
    created_by: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class LienWaiver(SQLModel, table=True):
    """A lien waiver the invoice contact signed: the figures it waives, who signed it, from
    where, and the signed PDF itself, whose SHA-256 is kept beside it and in the audit trail."""

    __tablename__ = "lien_waivers"
    # One signed waiver per pay app, kind and amount: a retried or doubled signing finds it.
    __table_args__ = (UniqueConstraint("pay_app_id", "kind", "amount"),)
    id: str = Field(default_factory=new_id("lwv"), primary_key=True)
    pay_app_id: str = Field(foreign_key="pay_apps.id", index=True)
    commitment_id: str = Field(foreign_key="commitments.id", index=True)
    project_id: str = Field(foreign_key="projects.id", index=True)
    kind: str
    amount: Decimal = money_field()
    through_date: date
    claimant: str
    customer: str
    job: str
    exceptions: str = Field(default="", sa_type=Text)
    signer_name: str
    signer_title: str
    signed_on: date
    signed_at: datetime = Field(default_factory=utcnow)
    signed_by: str
    client_address: str = ""
    sha256: str
    pdf: bytes = Field(sa_type=LargeBinary)


class LienWaiverExemption(SQLModel, table=True):
    """An admin's waiver of one required lien waiver for one pay app, with the reason."""

    __tablename__ = "lien_waiver_exemptions"
    __table_args__ = (UniqueConstraint("pay_app_id", "kind"),)
    id: str = Field(default_factory=new_id("lwx"), primary_key=True)
    pay_app_id: str = Field(foreign_key="pay_apps.id", index=True)
    project_id: str = Field(foreign_key="projects.id", index=True)
    kind: str
    reason: str = Field(sa_type=Text)
    waived_by: str
    waived_at: datetime = Field(default_factory=utcnow)


class CreditEntry(SQLModel, table=True):
    __tablename__ = "credit_entries"
    id: str = Field(default_factory=new_id("cre"), primary_key=True)
    commitment_id: str = Field(foreign_key="commitments.id", index=True)
    amount: Decimal = money_field()
    pay_app_id: str | None = None
    memo: str = ""
    created_by: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    id: str = Field(default_factory=new_id("aud"), primary_key=True)
    project_id: str | None = Field(default=None, index=True)
    entity_type: str
    entity_id: str = Field(index=True)
    action: str
    actor: str
    from_state: str | None = None
    to_state: str | None = None
    reason: str = ""
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: datetime = Field(default_factory=utcnow)


class EmailOutbox(SQLModel, table=True):
    __tablename__ = "email_outbox"
    id: str = Field(default_factory=new_id("eml"), primary_key=True)
    dedupe_key: str = Field(unique=True)
    message_id: str
    kind: str
    to_address: str
    subject: str
    text_body: str = Field(sa_type=Text)
    html_body: str = Field(sa_type=Text)
    status: str = "pending"
    attempts: int = 0
    last_error: str = ""
    project_id: str | None = Field(default=None, index=True)
    commitment_id: str | None = None
    period_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal", "key"),)
    id: str = Field(default_factory=new_id("idm"), primary_key=True)
    principal: str
    key: str
    fingerprint: str
    state: str = "in_progress"
    status_code: int | None = None
    response_body: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    # While the request runs, its process renews this lease; a lapsed one means the process died.
    held_until: datetime | None = None
