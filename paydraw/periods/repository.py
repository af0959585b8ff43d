"""Queries for billing periods and the board."""

from typing import Any

import sqlalchemy
from sqlalchemy import and_, bindparam
from sqlmodel import Session, col, select

from paydraw.db.tables import BillingPeriod, Commitment, Invitation, PayApp
from paydraw.domain.transitions import PayAppStatus, PeriodStatus


def open_period(session: Session, project_id: str) -> BillingPeriod | None:
    query = select(BillingPeriod).where(
        BillingPeriod.project_id == project_id, BillingPeriod.status == PeriodStatus.OPEN
    )
    return session.exec(query).first()


def pay_app_statuses(session: Session, period_id: str) -> dict[str, str]:
    """The live (non-void) pay app status per commitment in the period, the latest one winning."""
    query = (
        select(PayApp.commitment_id, PayApp.status)
        .where(PayApp.period_id == period_id, PayApp.status != PayAppStatus.VOID)
        .order_by(col(PayApp.number))
    )
    return {commitment_id: status for commitment_id, status in session.exec(query)}


# The board reads columns, not table models: a period of thousands of commitments would spend
# most of its time building ORM objects it only reads once.
BOARD_ROWS = (
    sqlalchemy.select(
        col(Commitment.id),
        col(Commitment.number),
        col(Commitment.vendor_name),
        col(Invitation.status),
        col(Invitation.overdue),
        col(Invitation.due_date_extended_to),
        col(Invitation.email_failure),
        col(Invitation.invited_at),
        col(Invitation.answered_at),
        col(Invitation.decline_reason),
    )
    .outerjoin(
        Invitation,
        and_(
            col(Invitation.commitment_id) == col(Commitment.id),
            col(Invitation.period_id) == bindparam("period_id"),
        ),
    )
    .where(col(Commitment.project_id) == bindparam("project_id"))
    .order_by(col(Commitment.number))
)


def board_rows(session: Session, project_id: str, period_id: str) -> list[Any]:
    """Each of the project's commitments in number order, with its invitation in the period
    (its columns None when it has none)."""
    params = {"project_id": project_id, "period_id": period_id}
    return list(session.execute(BOARD_ROWS, params))
