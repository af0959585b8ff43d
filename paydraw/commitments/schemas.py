"""Commitment requests and responses: vendor, contacts, retainage, SOV, draws, change orders."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from paydraw.domain.transitions import ChangeOrderStatus, SovStatus
from paydraw.fields import (
    EnteredMoney,
    Label,
    MoneyAmount,
    Name,
    NonNegativeMoney,
    PercentValue,
    PositiveMoney,
    one_line,
)

Code = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(one_line)]
Description = Annotated[str, Field(max_length=500), AfterValidator(one_line)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommitmentKind(StrEnum):
    SUBCONTRACT = "subcontract"
    PURCHASE_ORDER = "purchase_order"


class ContactIn(Strict):
    name: Label = ""
    email: EmailStr
    invoice_contact: bool = True


class RetainageStepIn(Strict):
    percent: PercentValue
    until_percent_complete: Annotated[Decimal | None, Field(gt=0, le=100)] = None


class RetainageIn(Strict):
    """Flat (``{"percent": "10"}``) or sliding (``{"steps": [...]}``), never both."""

    percent: PercentValue | None = None
    steps: Annotated[list[RetainageStepIn], Field(max_length=10)] | None = None

    @model_validator(mode="after")
    def one_form(self) -> Self:
        if (self.percent is None) == (self.steps is None):
            raise ValueError("give either percent (flat) or steps (sliding scale)")
        if self.steps is not None and not self.steps:
            raise ValueError("steps: a sliding scale needs at least one step")
        return self


class SovLineIn(Strict):
    code: Code
    description: Description = ""
    scheduled_value: NonNegativeMoney
    retainage_percent: PercentValue | None = None


class DrawIn(Strict):
    name: Name
    amount: PositiveMoney


def _distinct_codes(lines: list[SovLineIn]) -> None:
    codes = [line.code for line in lines]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ValueError(f"SOV line codes must be distinct; repeated: {', '.join(duplicates)}")


class SovReplace(Strict):
    sov_lines: Annotated[list[SovLineIn], Field(max_length=2000)]
    draws: Annotated[list[DrawIn], Field(max_length=200)] = []

    @model_validator(mode="after")
    def distinct_codes(self) -> Self:
        _distinct_codes(self.sov_lines)
        return self


class CommitmentCreate(Strict):
    number: Code
    title: Annotated[str, Field(max_length=200)] = ""
    kind: CommitmentKind = CommitmentKind.SUBCONTRACT
    vendor_name: Name
    contacts: Annotated[list[ContactIn], Field(max_length=20)] = []
    retainage: RetainageIn | None = None
    stored_materials_retainage_percent: PercentValue | None = None
    sov_lines: Annotated[list[SovLineIn], Field(max_length=2000)] = []
    draws: Annotated[list[DrawIn], Field(max_length=200)] = []

    @model_validator(mode="after")
    def distinct_codes(self) -> Self:
        _distinct_codes(self.sov_lines)
        return self


class ChangeOrderLineIn(Strict):
    """Adds to (or, negative, deducts from) an existing line, or adds a new line by code."""

    sov_line_id: str | None = None
    code: Code | None = None
    description: Description = ""
    retainage_percent: PercentValue | None = None
    amount: EnteredMoney

    @model_validator(mode="after")
    def existing_or_new(self) -> Self:
        if (self.sov_line_id is None) == (self.code is None):
            raise ValueError("give sov_line_id for an existing line or code for a new one")
        if self.amount == 0:
            raise ValueError("amount: a change order line must add or deduct something")
        if self.code is not None and self.amount < 0:
            raise ValueError("amount: a new line cannot start with a deduction")
        return self


class ChangeOrderCreate(Strict):
    number: Code
    title: Label = ""
    status: ChangeOrderStatus = ChangeOrderStatus.APPROVED
    lines: Annotated[list[ChangeOrderLineIn], Field(min_length=1, max_length=500)]


class ContactPublic(BaseModel):
    id: str
    name: str
    email: str
    invoice_contact: bool


class RetainageStepPublic(BaseModel):
    percent: PercentValue
    until_percent_complete: PercentValue | None


class SovLinePublic(BaseModel):
    id: str
    position: int
    code: str
    description: str
    original_value: MoneyAmount
    change_orders: MoneyAmount
    scheduled_value: MoneyAmount
    retainage_percent: PercentValue | None
    added_by_change_order_id: str | None


class DrawPublic(BaseModel):
    id: str
    position: int
    name: str
    amount: MoneyAmount
    billed: bool


class ChangeOrderLinePublic(BaseModel):
    sov_line_id: str
    code: str
    amount: MoneyAmount


class ChangeOrderPublic(BaseModel):
    id: str
    number: str
    title: str
    status: ChangeOrderStatus
    total: MoneyAmount
    lines: list[ChangeOrderLinePublic]
    approved_at: datetime | None


class CommitmentPublic(BaseModel):
    id: str
    project_id: str
    number: str
    title: str
    kind: CommitmentKind
    vendor_name: str
    contacts: list[ContactPublic]
    retainage_steps: list[RetainageStepPublic]
    stored_materials_retainage_percent: PercentValue | None
    sov_status: SovStatus
    sov_lines: list[SovLinePublic]
    draws: list[DrawPublic]
    change_orders: list[ChangeOrderPublic]
    original_contract_sum: MoneyAmount
    net_change_by_change_orders: MoneyAmount
    contract_sum_to_date: MoneyAmount
    created_at: datetime


class G702Summary(BaseModel):
    """The application and certificate for payment, numbered as on the AIA form."""

    original_contract_sum: MoneyAmount
    net_change_by_change_orders: MoneyAmount
    contract_sum_to_date: MoneyAmount
    total_completed_and_stored: MoneyAmount
    retainage_on_completed_work: MoneyAmount
    retainage_on_stored_materials: MoneyAmount
    retainage_released: MoneyAmount
    total_retainage: MoneyAmount
    total_earned_less_retainage: MoneyAmount
    previous_certificates: MoneyAmount
    current_payment_due: MoneyAmount
    balance_to_finish_with_retainage: MoneyAmount


class CertificateSummary(G702Summary):
    """The G702 figures of one pay application."""

    pay_app_id: str
    application_number: int
    status: str


class BillingSummary(BaseModel):
    """Where a commitment stands, counting only finalized (certified) pay applications."""

    commitment_id: str
    original_contract_sum: MoneyAmount
    net_change_by_change_orders: MoneyAmount
    contract_sum_to_date: MoneyAmount
    billed_to_date: MoneyAmount
    percent_complete: Decimal
    retainage_held: MoneyAmount
    retainage_released: MoneyAmount
    retainage_balance: MoneyAmount
    certified_to_date: MoneyAmount
    paid_to_date: MoneyAmount
    certified_unpaid: MoneyAmount
    balance_to_finish: MoneyAmount
    balance_to_finish_with_retainage: MoneyAmount
    awaiting_certification: MoneyAmount
    credit_balance: MoneyAmount
    fully_billed: bool
    certificates: list[CertificateSummary]


class CreditEntryPublic(BaseModel):
    """A move on the commitment's credit balance: a deposit or advance added (positive), an
    amount applied to a pay app as a payment (negative), or what a pay app settled below zero
    left over (positive, with that pay app)."""

    id: str
    amount: MoneyAmount
    memo: str
    pay_app_id: str | None
    created_by: str
    created_at: datetime
