"""Billing period requests and responses: opening, invites, the board, the contact's view."""

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paydraw.fields import EnteredDate, MoneyAmount, Text


class PeriodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_date: EnteredDate
    end_date: EnteredDate
    due_date: EnteredDate

    @model_validator(mode="after")
    def dates_in_order(self) -> Self:
        if self.end_date < self.start_date:
            raise ValueError("end_date: must not be before start_date")
        if self.due_date < self.start_date:
            raise ValueError("due_date: must not be before start_date")
        return self


class PeriodPublic(BaseModel):
    id: str
    project_id: str
    start_date: date
    end_date: date
    due_date: date
    status: str
    created_at: datetime
    closed_at: datetime | None


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    commitment_ids: Annotated[list[str], Field(min_length=1, max_length=5000)]
    message: Text = ""


class InviteRefusal(BaseModel):
    commitment_id: str
    reason: str


class InviteResponse(BaseModel):
    invited: list[str]
    refused: list[InviteRefusal]


class ExtendDueDateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_date: EnteredDate


class BoardRow(BaseModel):
    commitment_id: str
    number: str
    vendor_name: str
    invitation_status: str
    pay_app_status: str | None
    overdue: bool
    due_date: date
    email_failure: str
    invited_at: datetime | None
    answered_at: datetime | None
    decline_reason: str


class BoardCounts(BaseModel):
    not_invited: int = 0
    invited: int = 0
    accepted: int = 0
    declined: int = 0
    overdue: int = 0
    email_failed: int = 0
    pay_apps: dict[str, int] = {}


class Board(BaseModel):
    period: PeriodPublic
    counts: BoardCounts
    rows: list[BoardRow]


class ContactSovLine(BaseModel):
    id: str
    code: str
    description: str
    scheduled_value: MoneyAmount
    previously_billed: MoneyAmount
    materials_stored: MoneyAmount
    billable: MoneyAmount


class ContactInvitation(BaseModel):
    """What the invoice contact sees: their commitment, its SOV, what was billed, when it is due."""

    project_name: str
    general_contractor: str
    commitment_id: str
    commitment_number: str
    commitment_title: str
    vendor_name: str
    period_id: str
    period_start: date
    period_end: date
    due_date: date
    invitation_status: str
    overdue: bool
    contract_sum_to_date: MoneyAmount
    previously_billed: MoneyAmount
    sov_lines: list[ContactSovLine]
