"""Queries for billing periods, invitations and the board."""

from collections import defaultdict
from decimal import Decimal

from sqlmodel import Session, col, select

from paydraw.db.tables import (
    BillingPeriod,
    ChangeOrder,
    ChangeOrderLine,
    Commitment,
    Contact,
    Invitation,
    PayApp,
    PayAppLine,
    SovLine,
)


def open_period(session: Session, project_id: str) -> BillingPeriod | None:
    query = select(BillingPeriod).where(
        BillingPeriod.project_id == project_id, BillingPeriod.status == "open"
    )
    return session.exec(query).first()


def invitation(session: Session, period_id: str, commitment_id: str) -> Invitation | None:
    query = select(Invitation).where(
        Invitation.period_id == period_id, Invitation.commitment_id == commitment_id
    )
    return session.exec(query).first()


def invitations(
    session: Session, period_id: str, commitment_ids: list[str] | None = None
) -> dict[str, Invitation]:
    """The period's invitation rows by commitment: all of them, or those of `commitment_ids`."""
    query = select(Invitation).where(Invitation.period_id == period_id)
    if commitment_ids is not None:
        query = query.where(col(Invitation.commitment_id).in_(commitment_ids))
    return {row.commitment_id: row for row in session.exec(query)}


def commitments(
    session: Session, project_id: str, commitment_ids: list[str] | None = None
) -> list[Commitment]:
    """The project's commitments in number order: all of them, or those of `commitment_ids`."""
    query = select(Commitment).where(Commitment.project_id == project_id)
    if commitment_ids is not None:
        query = query.where(col(Commitment.id).in_(commitment_ids))
    return list(session.exec(query.order_by(col(Commitment.number))))


def invoice_contacts(session: Session, commitment_ids: list[str]) -> dict[str, list[Contact]]:
    found: dict[str, list[Contact]] = defaultdict(list)
    query = select(Contact).where(
        col(Contact.commitment_id).in_(commitment_ids), col(Contact.invoice_contact).is_(True)
    )
    for contact in session.exec(query.order_by(col(Contact.email))):
        found[contact.commitment_id].append(contact)
    return found


def contract_sums(session: Session, commitment_ids: list[str]) -> dict[str, Decimal]:
    """Contract sum to date per commitment: original lines plus approved change orders."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for line in session.exec(select(SovLine).where(col(SovLine.commitment_id).in_(commitment_ids))):
        sums[line.commitment_id] += line.original_value
    changes = (
        select(ChangeOrder.commitment_id, ChangeOrderLine)
        .join(ChangeOrderLine, col(ChangeOrderLine.change_order_id) == col(ChangeOrder.id))
        .where(col(ChangeOrder.commitment_id).in_(commitment_ids), ChangeOrder.status == "approved")
    )
    for commitment_id, change in session.exec(changes):
        sums[commitment_id] += change.amount
    return sums


def work_billed(session: Session, commitment_ids: list[str]) -> dict[str, Decimal]:
    """Work billed to date per commitment on every pay app that is not void."""
    billed: dict[str, Decimal] = defaultdict(Decimal)
    query = (
        select(PayApp.commitment_id, PayAppLine)
        .join(PayAppLine, col(PayAppLine.pay_app_id) == col(PayApp.id))
        .where(col(PayApp.commitment_id).in_(commitment_ids), PayApp.status != "void")
    )
    for commitment_id, line in session.exec(query):
        billed[commitment_id] += line.work_this_period
    return billed


def pay_app_statuses(session: Session, period_id: str) -> dict[str, str]:
    """The live (non-void) pay app status per commitment in the period, the latest one winning."""
    query = (
        select(PayApp.commitment_id, PayApp.status)
        .where(PayApp.period_id == period_id, PayApp.status != "void")
        .order_by(col(PayApp.number))
    )
    return {commitment_id: status for commitment_id, status in session.exec(query)}
