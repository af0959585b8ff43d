"""Pay application requests and responses: entry modes, review, payments, G702/G703 views."""

from collections import Counter
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paydraw.commitments.schemas import G702Summary
from paydraw.domain.credit import PaymentStatus
from paydraw.domain.transitions import PayAppStatus
from paydraw.fields import (
    EnteredDate,
    EnteredMoney,
    MoneyAmount,
    Name,
    NonNegativeMoney,
    PercentValue,
    PositiveMoney,
    Text,
)

Reason = Text
Ids = Annotated[list[str], Field(min_length=1, max_length=2000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PayAppKind(StrEnum):
    PROGRESS = "progress"
    RETAINAGE_RELEASE = "retainage_release"
    PROGRESS_AND_RETAINAGE = "progress_and_retainage"


class EntryMode(StrEnum):
    PER_LINE_AMOUNTS = "per_line_amounts"
    PER_LINE_PERCENT = "per_line_percent"
    CONTRACT_PERCENT = "contract_percent"
    CONTRACT_AMOUNT = "contract_amount"
    DRAWS = "draws"
    LINES = "lines"
    RETAINAGE_RELEASE = "retainage_release"
    """Stored for a retainage_release pay app, which bills no progress."""


def _distinct(line_ids: list[str]) -> None:
    repeated = sorted(line_id for line_id, count in Counter(line_ids).items() if count > 1)
    if repeated:
        raise ValueError(f"each SOV line once; repeated: {', '.join(repeated)}")


class LineAmount(Strict):
    sov_line_id: str
    work_this_period: EnteredMoney = Decimal("0.00")
    materials_stored: NonNegativeMoney | None = None
    """None keeps the material stored before (when the project rolls stored materials over)."""


class PerLineAmounts(Strict):
    """Work this period (E) and materials presently stored (F), typed per line."""

    mode: Literal["per_line_amounts"]
    lines: Annotated[list[LineAmount], Field(min_length=1, max_length=2000)]

    @model_validator(mode="after")
    def each_line_once(self) -> Self:
        _distinct([line.sov_line_id for line in self.lines])
        return self


class LinePercent(Strict):
    sov_line_id: str
    percent_complete: PercentValue


class PerLinePercent(Strict):
    """Percent complete to date per line."""

    mode: Literal["per_line_percent"]
    lines: Annotated[list[LinePercent], Field(min_length=1, max_length=2000)]

    @model_validator(mode="after")
    def each_line_once(self) -> Self:
        _distinct([line.sov_line_id for line in self.lines])
        return self


class ContractPercent(Strict):
    """One percent complete to date for the whole contract, spread over the lines."""

    mode: Literal["contract_percent"]
    percent: PercentValue


class ContractAmount(Strict):
    """One amount for the whole contract this period, spread over the lines."""

    mode: Literal["contract_amount"]
    amount: NonNegativeMoney


class SelectedDraws(Strict):
    """The preset amounts of the selected draws, which then count as billed."""

    mode: Literal["draws"]
    draw_ids: Ids


class SelectedLines(Strict):
    """The selected lines, each billed to its full remaining balance."""

    mode: Literal["lines"]
    sov_line_ids: Ids


ProgressEntry = Annotated[
    PerLineAmounts
    | PerLinePercent
    | ContractPercent
    | ContractAmount
    | SelectedDraws
    | SelectedLines,
    Field(discriminator="mode"),
]


class RetainageRelease(Strict):
    """Release `amount` of the retainage held, or all of it when `amount` is null."""

    amount: PositiveMoney | None = None


class PayAppLinesEdit(Strict):
    """What a pay app bills: a progress `entry`, a retainage release, or both, as its kind says;
    the override reason is needed only for over-billing under the `warn` policy."""

    entry: ProgressEntry | None = None
    retainage_release: RetainageRelease | None = None
    overbilling_override_reason: Reason = ""

    @property
    def entry_mode(self) -> EntryMode:
        return EntryMode(self.entry.mode) if self.entry else EntryMode.RETAINAGE_RELEASE

    def kind_mismatch(self, kind: PayAppKind) -> tuple[str, str] | None:
        """The field and why, when what is billed does not fit a pay app of `kind`."""
        bills_progress = kind != PayAppKind.RETAINAGE_RELEASE
        releases = kind != PayAppKind.PROGRESS
        if bills_progress and self.entry is None:
            return "entry", f"a {kind} pay app needs a progress entry"
        if not bills_progress and self.entry is not None:
            return "entry", f"a {kind} pay app bills no progress; leave entry out"
        if releases and self.retainage_release is None:
            return "retainage_release", f"a {kind} pay app needs a retainage release"
        if not releases and self.retainage_release is not None:
            return "retainage_release", f"a {kind} pay app releases no retainage; leave it out"
        return None


class ProgressLinesEdit(PayAppLinesEdit):
    """What the invoice contact bills: progress, by an entry; retainage is released by the GC."""

    @model_validator(mode="after")
    def bills_progress(self) -> Self:
        if mismatch := self.kind_mismatch(PayAppKind.PROGRESS):
            raise ValueError(": ".join(mismatch))
        return self


class PayAppCreate(PayAppLinesEdit):
    kind: PayAppKind = PayAppKind.PROGRESS
    notes: Text = ""
    due_terms: Annotated[str, Field(max_length=100, examples=["Net 30"])] = ""

    @model_validator(mode="after")
    def fits_kind(self) -> Self:
        if mismatch := self.kind_mismatch(self.kind):
            raise ValueError(": ".join(mismatch))
        return self


class Attachment(Strict):
    """A link to a document kept elsewhere: its name and address, as the caller typed them.
    Files uploaded to Paydraw are the pay app's backup documents, a list of their own at
    `/api/v1/pay-apps/{id}/attachments`."""

    name: Name
    url: Annotated[str, Field(min_length=1, max_length=2000)]


class PayAppDetailsEdit(Strict):
    """Fields that do not change the money; left out means unchanged."""

    notes: Text | None = None
    due_terms: Annotated[str, Field(max_length=100)] | None = None
    attachments: Annotated[list[Attachment], Field(max_length=50)] | None = None


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    APPROVE_AS_NOTED = "approve_as_noted"
    REVISE = "revise"


class LineReview(Strict):
    sov_line_id: str
    approved: bool = True
    reason: Reason = ""
    """Why the line is sent back (revise)."""
    work_this_period: EnteredMoney | None = None
    materials_stored: NonNegativeMoney | None = None
    note: Reason = ""
    """Why the reviewer changed the line (approve as noted)."""

    @property
    def adjusted(self) -> bool:
        return self.work_this_period is not None or self.materials_stored is not None


class Review(Strict):
    decision: ReviewDecision
    note: Reason = ""
    lines: Annotated[list[LineReview], Field(max_length=2000)] = []
    overbilling_override_reason: Reason = ""
    """Needed when an adjusted amount bills over a line's scheduled value under `warn`."""

    @model_validator(mode="after")
    def fits_decision(self) -> Self:
        _distinct([line.sov_line_id for line in self.lines])
        changed = [line for line in self.lines if line.adjusted or not line.approved]
        if self.decision == ReviewDecision.APPROVE and changed:
            raise ValueError("lines: to change or reject a line, approve as noted or revise")
        if self.decision == ReviewDecision.APPROVE_AS_NOTED:
            for line in changed:
                if not line.note.strip():
                    raise ValueError(f"lines: the change to {line.sov_line_id} needs a note")
        if self.decision == ReviewDecision.REVISE:
            if any(line.adjusted for line in self.lines):
                raise ValueError("lines: a revise sends amounts back; it does not change them")
            if not (self.note.strip() or any(line.reason.strip() for line in self.lines)):
                raise ValueError("note: say why, overall or per line")
        return self


class PaymentMethod(StrEnum):
    CHECK = "check"
    ACH = "ach"
    CARD = "card"
    CREDIT_BALANCE = "credit_balance"
    OTHER = "other"


class PaymentCreate(Strict):
    amount: PositiveMoney
    method: PaymentMethod
    reference: Annotated[str, Field(max_length=200)] = ""
    paid_on: EnteredDate


class CreditCreate(Strict):
    """A deposit or advance the GC holds for the commitment, applied later as a payment."""

    amount: PositiveMoney
    memo: Annotated[str, Field(max_length=500)] = ""


class CreditBalance(BaseModel):
    commitment_id: str
    credit_balance: MoneyAmount


class PaymentPublic(BaseModel):
    id: str
    amount: MoneyAmount
    method: PaymentMethod
    reference: str
    paid_on: EnteredDate
    created_at: datetime


class PayAppLinePublic(BaseModel):
    """One G703 row (columns C to I) with what was billable and what the reviewer said."""

    sov_line_id: str
    code: str
    description: str
    scheduled_value: MoneyAmount
    from_previous: MoneyAmount
    this_period: MoneyAmount
    materials_stored: MoneyAmount
    completed_and_stored: MoneyAmount
    percent_complete: Decimal
    balance_to_finish: MoneyAmount
    retainage: MoneyAmount
    retainage_released: MoneyAmount
    billable_before: MoneyAmount
    submitted_work: MoneyAmount | None
    submitted_stored: MoneyAmount | None
    approved: bool | None
    review_reason: str
    review_note: str


class PayAppPublic(BaseModel):
    id: str
    number: int
    kind: PayAppKind
    status: PayAppStatus
    payment_status: PaymentStatus
    commitment_id: str
    period_id: str | None
    entry_mode: EntryMode
    notes: str
    due_terms: str
    attachments: list[Attachment]
    lines: list[PayAppLinePublic]
    summary: G702Summary
    certificate_issued: bool
    """True once finalized: `summary` is then the frozen certificate, not a live computation."""
    payments: list[PaymentPublic]
    paid_to_date: MoneyAmount
    remaining_due: MoneyAmount
    overbilling_override_reason: str
    review_note: str
    void_reason: str
    created_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None
    finalized_at: datetime | None
    voided_at: datetime | None
    allowed_actions: list[str]
