"""Queries for billing periods and the board."""

from sqlmodel import Session, col, select

from paydraw.db.tables import BillingPeriod, PayApp
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
