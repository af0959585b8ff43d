"""Billing period requests and responses: opening one, and the board."""

from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from paydraw.fields import EnteredDate, MoneyAmount


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
    scheduled_value: MoneyAmount  # the contract sum to date: the SOV and approved change orders
    billed_to_date: MoneyAmount  # completed and stored to date, on the latest certificate
    this_period: MoneyAmount  # the period's pay app (any status but void): work and stored
    retainage: MoneyAmount  # held to date, on the latest certificate
    balance_to_finish: MoneyAmount  # scheduled value less billed to date


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
