"""Queries for billing periods and the board."""

from typing import Any

import sqlalchemy
from sqlalchemy import and_, bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from paydraw.db.tables import (
    BillingPeriod,
    ChangeOrder,
    ChangeOrderLine,
    Commitment,
    Invitation,
    PayApp,
    PayAppLine,
    SovLine,
)
from paydraw.db.types import Money
from paydraw.domain.transitions import ChangeOrderStatus, PayAppStatus, PeriodStatus


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
# most of its time building ORM objects it only reads once. Its amounts are sums the database
# makes in the same statement, one grouped subquery each over the project's commitments.
IN_PROJECT = col(Commitment.project_id) == bindparam("project_id")
ORIGINAL_SUMS = (
    sqlalchemy.select(
        col(SovLine.commitment_id).label("commitment_id"),
        func.sum(col(SovLine.original_value)).label("amount"),
    )
    .join(Commitment, col(Commitment.id) == col(SovLine.commitment_id))
    .where(IN_PROJECT)
    .group_by(col(SovLine.commitment_id))
    .subquery("original_sums")
)
CHANGE_ORDER_SUMS = (
    sqlalchemy.select(
        col(ChangeOrder.commitment_id).label("commitment_id"),
        func.sum(col(ChangeOrderLine.amount)).label("amount"),
    )
    .join(ChangeOrderLine, col(ChangeOrderLine.change_order_id) == col(ChangeOrder.id))
    .join(Commitment, col(Commitment.id) == col(ChangeOrder.commitment_id))
    .where(IN_PROJECT, col(ChangeOrder.status) == ChangeOrderStatus.APPROVED)
    .group_by(col(ChangeOrder.commitment_id))
    .subquery("change_order_sums")
)
# G - D of the period's live pay app: work this period (E) and materials stored (F).
THIS_PERIOD_SUMS = (
    sqlalchemy.select(
        col(PayApp.commitment_id).label("commitment_id"),
        func.sum(col(PayAppLine.work_this_period) + col(PayAppLine.materials_stored)).label(
            "amount"
        ),
    )
    .join(PayAppLine, col(PayAppLine.pay_app_id) == col(PayApp.id))
    .where(col(PayApp.period_id) == bindparam("period_id"), col(PayApp.status) != PayAppStatus.VOID)
    .group_by(col(PayApp.commitment_id))
    .subquery("this_period_sums")
)
# The commitment's latest certificate, whose frozen G702 figures say what is billed to date and
# what retainage is held (as the commitment's billing summary counts them).
LAST_CERTIFIED = (
    sqlalchemy.select(
        col(PayApp.commitment_id).label("commitment_id"),
        func.max(col(PayApp.number)).label("number"),
    )
    .join(Commitment, col(Commitment.id) == col(PayApp.commitment_id))
    .where(IN_PROJECT, col(PayApp.status).in_([PayAppStatus.FINALIZED, PayAppStatus.PAID]))
    .group_by(col(PayApp.commitment_id))
    .subquery("last_certified")
)
CERTIFIED = aliased(PayApp, name="certified")
CERTIFICATE = sqlalchemy.type_coerce(col(CERTIFIED.certificate), sqlalchemy.JSON)

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
        sqlalchemy.type_coerce(
            func.coalesce(ORIGINAL_SUMS.c.amount, 0) + func.coalesce(CHANGE_ORDER_SUMS.c.amount, 0),
            Money(),
        ),
        sqlalchemy.type_coerce(THIS_PERIOD_SUMS.c.amount, Money()),
        CERTIFICATE["total_completed_and_stored"].as_string(),
        CERTIFICATE["total_retainage"].as_string(),
    )
    .outerjoin(
        Invitation,
        and_(
            col(Invitation.commitment_id) == col(Commitment.id),
            col(Invitation.period_id) == bindparam("period_id"),
        ),
    )
    .outerjoin(ORIGINAL_SUMS, ORIGINAL_SUMS.c.commitment_id == col(Commitment.id))
    .outerjoin(CHANGE_ORDER_SUMS, CHANGE_ORDER_SUMS.c.commitment_id == col(Commitment.id))
    .outerjoin(THIS_PERIOD_SUMS, THIS_PERIOD_SUMS.c.commitment_id == col(Commitment.id))
    .outerjoin(LAST_CERTIFIED, LAST_CERTIFIED.c.commitment_id == col(Commitment.id))
    .outerjoin(
        CERTIFIED,
        and_(
            col(CERTIFIED.commitment_id) == col(Commitment.id),
            col(CERTIFIED.number) == LAST_CERTIFIED.c.number,
        ),
    )
    .where(IN_PROJECT)
    .order_by(col(Commitment.number))
)


def board_rows(session: Session, project_id: str, period_id: str) -> list[Any]:
    """Each of the project's commitments in number order, with its invitation in the period
    (its columns None when it has none), and its amounts: the contract sum to date (the SOV's
    original values and the approved change orders), the period's pay app's work and stored
    materials (None without one), and the latest certificate's total completed and stored and
    its retainage (None without one)."""
    params = {"project_id": project_id, "period_id": period_id}
    return list(session.execute(BOARD_ROWS, params))
