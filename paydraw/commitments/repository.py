"""Queries for commitments, their contacts, SOV lines, draws and change orders."""

from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy
from sqlalchemy import BindParameter, bindparam
from sqlmodel import Session, col, func, select

from paydraw.db.tables import (
    ChangeOrder,
    ChangeOrderLine,
    Commitment,
    Contact,
    CreditEntry,
    Draw,
    SovLine,
)
from paydraw.domain.transitions import ChangeOrderStatus


def by_number(session: Session, project_id: str, number: str) -> Commitment | None:
    query = select(Commitment).where(
        Commitment.project_id == project_id, Commitment.number == number
    )
    return session.exec(query).first()


# The statements of the busiest queries are built once, with bound parameters (see
# paydraw.pay_apps.repository).
COMMITMENT_IDS: BindParameter[str] = bindparam("commitment_ids", expanding=True)
PROJECT_COMMITMENTS = (
    select(Commitment)
    .where(Commitment.project_id == bindparam("project_id"))
    .order_by(col(Commitment.number))
)
SOME_COMMITMENTS = PROJECT_COMMITMENTS.where(col(Commitment.id).in_(COMMITMENT_IDS))


def of_project(
    session: Session, project_id: str, commitment_ids: list[str] | None = None
) -> list[Commitment]:
    """The project's commitments in number order: all of them, or those of `commitment_ids`."""
    if commitment_ids is None:
        return list(session.exec(PROJECT_COMMITMENTS, params={"project_id": project_id}))
    params = {"project_id": project_id, "commitment_ids": commitment_ids}
    return list(session.exec(SOME_COMMITMENTS, params=params))


CONTACTS = (
    select(Contact)
    .where(Contact.commitment_id == sqlalchemy.bindparam("commitment_id"))
    .order_by(col(Contact.email))
)
SOV_LINES = (
    select(SovLine)
    .where(SovLine.commitment_id == sqlalchemy.bindparam("commitment_id"))
    .order_by(col(SovLine.position))
)
DRAWS = (
    select(Draw)
    .where(Draw.commitment_id == sqlalchemy.bindparam("commitment_id"))
    .order_by(col(Draw.position))
)


def contacts(session: Session, commitment_id: str) -> list[Contact]:
    return list(session.exec(CONTACTS, params={"commitment_id": commitment_id}))


def sov_lines(session: Session, commitment_id: str) -> list[SovLine]:
    return list(session.exec(SOV_LINES, params={"commitment_id": commitment_id}))


def draws(session: Session, commitment_id: str) -> list[Draw]:
    return list(session.exec(DRAWS, params={"commitment_id": commitment_id}))


def change_orders(session: Session, commitment_id: str) -> list[ChangeOrder]:
    query = select(ChangeOrder).where(ChangeOrder.commitment_id == commitment_id)
    return list(session.exec(query.order_by(col(ChangeOrder.created_at), col(ChangeOrder.id))))


def change_order_lines(session: Session, commitment_id: str) -> dict[str, list[ChangeOrderLine]]:
    """Lines of every change order of the commitment, by change order id."""
    query = (
        select(ChangeOrderLine)
        .join(ChangeOrder, col(ChangeOrder.id) == col(ChangeOrderLine.change_order_id))
        .where(ChangeOrder.commitment_id == commitment_id)
    )
    lines: dict[str, list[ChangeOrderLine]] = defaultdict(list)
    for line in session.exec(query):
        lines[line.change_order_id].append(line)
    return lines


class ContractLine(NamedTuple):
    """An SOV line with what approved change orders added to it (or took away)."""

    id: str
    code: str
    description: str
    original_value: Decimal
    retainage_percent: Decimal | None
    change_orders: Decimal


def _contract_lines_query() -> sqlalchemy.Select[
    str, str, str, Decimal, Decimal | None, Decimal | None
]:
    commitment_id = sqlalchemy.bindparam("commitment_id", type_=sqlalchemy.String)
    changes = (
        sqlalchemy.select(
            col(ChangeOrderLine.sov_line_id),
            func.sum(col(ChangeOrderLine.amount)).label("total"),
        )
        .join(ChangeOrder, col(ChangeOrder.id) == col(ChangeOrderLine.change_order_id))
        .where(
            col(ChangeOrder.commitment_id) == commitment_id,
            col(ChangeOrder.status) == ChangeOrderStatus.APPROVED,
        )
        .group_by(col(ChangeOrderLine.sov_line_id))
        .subquery()
    )
    return (
        sqlalchemy.select(
            col(SovLine.id),
            col(SovLine.code),
            col(SovLine.description),
            col(SovLine.original_value),
            col(SovLine.retainage_percent),
            changes.c.total,
        )
        .outerjoin(changes, changes.c.sov_line_id == col(SovLine.id))
        .where(col(SovLine.commitment_id) == commitment_id)
        .order_by(col(SovLine.position))
    )


CONTRACT_LINES = _contract_lines_query()


def contract_lines(session: Session, commitment_id: str) -> list[ContractLine]:
    """The SOV lines in order, each with its approved change orders summed, in one query."""
    return [
        ContractLine(line_id, code, description, value, percent, total or Decimal("0.00"))
        for line_id, code, description, value, percent, total in session.execute(
            CONTRACT_LINES, {"commitment_id": commitment_id}
        )
    ]


def change_order(session: Session, commitment_id: str, number: str) -> ChangeOrder | None:
    query = select(ChangeOrder).where(
        ChangeOrder.commitment_id == commitment_id, ChangeOrder.number == number
    )
    return session.exec(query).first()


def next_position(session: Session, commitment_id: str) -> int:
    query = select(func.max(SovLine.position)).where(SovLine.commitment_id == commitment_id)
    return (session.exec(query).one() or 0) + 1


CREDIT_ENTRIES = select(CreditEntry).where(
    CreditEntry.commitment_id == sqlalchemy.bindparam("commitment_id")
)


def credit_entries(session: Session, commitment_id: str) -> list[CreditEntry]:
    """The commitment's credit entries, oldest first."""
    query = CREDIT_ENTRIES.order_by(col(CreditEntry.created_at), col(CreditEntry.id))
    return list(session.exec(query, params={"commitment_id": commitment_id}))


def credit_balance(session: Session, commitment_id: str) -> Decimal:
    entries = session.exec(CREDIT_ENTRIES, params={"commitment_id": commitment_id})
    return sum((entry.amount for entry in entries), Decimal("0.00"))


def delete_sov(session: Session, commitment_id: str) -> None:
    """Remove a draft SOV's lines and draws (only a draft SOV is ever replaced)."""
    for line in sov_lines(session, commitment_id):
        session.delete(line)
    for draw in draws(session, commitment_id):
        session.delete(draw)
    session.flush()
