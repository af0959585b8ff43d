"""What an invoice contact sees of their invitation."""

from datetime import date

from pydantic import BaseModel

from paydraw.fields import MoneyAmount


class ContactSovLine(BaseModel):
    id: str
    code: str
    description: str
    scheduled_value: MoneyAmount
    previously_billed: MoneyAmount
    materials_stored: MoneyAmount
    billable: MoneyAmount


class ContactDraw(BaseModel):
    """A preset draw of the commitment: `billed` by an earlier pay app, or `selected` by the
    period's own."""

    id: str
    name: str
    amount: MoneyAmount
    billed: bool
    selected: bool


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
    period_closed: bool
    due_date: date
    past_due: bool
    """The due date (as extended, if it was) has passed: the contact can no longer accept,
    fill in or submit, only decline."""
    invitation_status: str
    overdue: bool
    contract_sum_to_date: MoneyAmount
    previously_billed: MoneyAmount
    sov_lines: list[ContactSovLine]
    draws: list[ContactDraw]
