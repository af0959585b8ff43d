"""Queries for invitations: a commitment's invite to bill in one period, its invoice contacts,
and what decides whether it may be invited."""

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import BindParameter, bindparam
from sqlmodel import Session, col, select

from paydraw.db.tables import (
    ChangeOrder,
    ChangeOrderLine,
    Contact,
    Invitation,
    PayApp,
    PayAppLine,
    SovLine,
)
from paydraw.domain.transitions import ChangeOrderStatus, PayAppStatus

# The statements of the busiest queries are built once, with bound parameters (see
# paydraw.pay_apps.repository); a list goes in as an expanding parameter.
COMMITMENT_IDS: BindParameter[str] = bindparam("commitment_ids", expanding=True)

INVITATION = select(Invitation).where(
    Invitation.period_id == bindparam("period_id"),
    Invitation.commitment_id == bindparam("commitment_id"),
)


def invitation(session: Session, period_id: str, commitment_id: str) -> Invitation | None:
    params = {"period_id": period_id, "commitment_id": commitment_id}
    return session.exec(INVITATION, params=params).first()


PERIOD_INVITATIONS = select(Invitation).where(Invitation.period_id == bindparam("period_id"))
SOME_INVITATIONS = PERIOD_INVITATIONS.where(col(Invitation.commitment_id).in_(COMMITMENT_IDS))


def invitations(
    session: Session, period_id: str, commitment_ids: list[str] | None = None
) -> dict[str, Invitation]:
    """The period's invitation rows by commitment: all of them, or those of `commitment_ids`."""
    if commitment_ids is None:
        rows = session.exec(PERIOD_INVITATIONS, params={"period_id": period_id})
    else:
        params = {"period_id": period_id, "commitment_ids": commitment_ids}
        rows = session.exec(SOME_INVITATIONS, params=params)
    return {row.commitment_id: row for row in rows}


INVOICE_CONTACTS = (
    select(Contact)
    .where(col(Contact.commitment_id).in_(COMMITMENT_IDS), col(Contact.invoice_contact).is_(True))
    .order_by(col(Contact.email))
)


def invoice_contacts(session: Session, commitment_ids: list[str]) -> dict[str, list[Contact]]:
    found: dict[str, list[Contact]] = defaultdict(list)
    for contact in session.exec(INVOICE_CONTACTS, params={"commitment_ids": commitment_ids}):
        found[contact.commitment_id].append(contact)
    return found


SOV_LINES = select(SovLine).where(col(SovLine.commitment_id).in_(COMMITMENT_IDS))
APPROVED_CHANGES = (
    select(ChangeOrder.commitment_id, ChangeOrderLine)
    .join(ChangeOrderLine, col(ChangeOrderLine.change_order_id) == col(ChangeOrder.id))
    .where(
        col(ChangeOrder.commitment_id).in_(COMMITMENT_IDS),
        ChangeOrder.status == ChangeOrderStatus.APPROVED,
    )
)


def contract_sums(session: Session, commitment_ids: list[str]) -> dict[str, Decimal]:
    """Contract sum to date per commitment: original lines plus approved change orders."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    params = {"commitment_ids": commitment_ids}
    for line in session.exec(SOV_LINES, params=params):
        sums[line.commitment_id] += line.original_value
    for commitment_id, change in session.exec(APPROVED_CHANGES, params=params):
        sums[commitment_id] += change.amount
    return sums


WORK_BILLED = (
    select(PayApp.commitment_id, PayAppLine)
    .join(PayAppLine, col(PayAppLine.pay_app_id) == col(PayApp.id))
    .where(col(PayApp.commitment_id).in_(COMMITMENT_IDS), PayApp.status != PayAppStatus.VOID)
)


def work_billed(session: Session, commitment_ids: list[str]) -> dict[str, Decimal]:
    """Work billed to date per commitment on every pay app that is not void."""
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for commitment_id, line in session.exec(WORK_BILLED, params={"commitment_ids": commitment_ids}):
        billed[commitment_id] += line.work_this_period
    return billed
