"""What the list endpoints answer: a page of items and the cursor of the next page."""

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from paydraw.periods.schemas import PeriodPublic
from paydraw.projects.schemas import ProjectPublic

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the next page; null on the last page."
    )


class CommitmentListed(BaseModel):
    id: str
    project_id: str
    number: str
    title: str
    kind: str
    vendor_name: str
    sov_status: str
    created_at: datetime


class PayAppListed(BaseModel):
    id: str
    project_id: str
    commitment_id: str
    commitment_number: str
    vendor_name: str
    period_id: str | None
    number: int
    kind: str
    status: str
    payment_status: str
    created_at: datetime
    submitted_at: datetime | None
    finalized_at: datetime | None


class HistoryEvent(BaseModel):
    """One change, as the audit trail recorded it."""

    id: str
    at: datetime
    actor: str
    entity_type: str
    entity_id: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str
    detail: dict[str, Any]


class HistorySubject(BaseModel):
    """The commitment an event of a project's or a period's history is about (and the pay app,
    for a pay app's event), for a page to name and link it."""

    commitment_id: str
    commitment_number: str
    vendor_name: str
    pay_app_id: str | None = None
    pay_app_number: int | None = None


ProjectPage = Page[ProjectPublic]
CommitmentPage = Page[CommitmentListed]
PeriodPage = Page[PeriodPublic]
PayAppPage = Page[PayAppListed]
HistoryPage = Page[HistoryEvent]
