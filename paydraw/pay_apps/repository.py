"""Queries for pay applications, their lines, payments, draws and credit."""

from collections.abc import Mapping

from sqlmodel import Session, col, func, select

from paydraw.billing.ledger import CERTIFIED
from paydraw.db.tables import Commitment, Draw, PayApp, PayAppLine, Payment
from paydraw.domain.errors import NotFound
from paydraw.domain.g702 import LineEntry
from paydraw.domain.transitions import PayAppStatus

UNFINISHED = (
    PayAppStatus.DRAFT,
    PayAppStatus.UNDER_REVIEW,
    PayAppStatus.REVISE_AND_RESUBMIT,
    PayAppStatus.APPROVED,
)


def lock_commitment(session: Session, commitment_id: str) -> Commitment:
    """The commitment, locked until the transaction ends: every change to its billing takes this
    lock first, so two requests never compute from the same history. (SQLite ignores FOR UPDATE;
    there BEGIN IMMEDIATE already serializes writers.)"""
    query = (
        select(Commitment)
        .where(Commitment.id == commitment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    commitment = session.exec(query).first()
    if commitment is None:
        raise NotFound(f"commitment {commitment_id} not found")
    return commitment


def commitment_id_of(session: Session, pay_app_id: str) -> str | None:
    query = select(PayApp.commitment_id).where(PayApp.id == pay_app_id)
    return session.exec(query).first()


def fresh(session: Session, pay_app_id: str) -> PayApp | None:
    """The pay app as committed now, not as this session may have read it before a lock."""
    query = select(PayApp).where(PayApp.id == pay_app_id)
    return session.exec(query.execution_options(populate_existing=True)).first()


def next_number(session: Session, commitment_id: str) -> int:
    query = select(func.max(PayApp.number)).where(PayApp.commitment_id == commitment_id)
    return (session.exec(query).one() or 0) + 1


def live_pay_app(session: Session, commitment_id: str, period_id: str, kind: str) -> PayApp | None:
    """The non-void pay app of the commitment for this period and kind, if any."""
    query = select(PayApp).where(
        PayApp.commitment_id == commitment_id,
        PayApp.period_id == period_id,
        PayApp.kind == kind,
        PayApp.status != PayAppStatus.VOID,
    )
    return session.exec(query).first()


def drafts_in_period(session: Session, period_id: str) -> list[str]:
    """The ids of the period's pay apps still in draft, oldest first."""
    query = select(PayApp.id).where(
        PayApp.period_id == period_id, PayApp.status == PayAppStatus.DRAFT
    )
    return list(session.exec(query.order_by(col(PayApp.number))))


def unfinished_pay_app(session: Session, commitment_id: str) -> PayApp | None:
    """A pay app of the commitment still on its way to a certificate."""
    query = select(PayApp).where(
        PayApp.commitment_id == commitment_id, col(PayApp.status).in_(UNFINISHED)
    )
    return session.exec(query).first()


def later_pay_app(session: Session, pay_app: PayApp) -> PayApp | None:
    """A non-void pay app of the same commitment numbered after `pay_app`."""
    query = select(PayApp).where(
        PayApp.commitment_id == pay_app.commitment_id,
        PayApp.number > pay_app.number,
        PayApp.status != PayAppStatus.VOID,
    )
    return session.exec(query).first()


def last_certified_before(session: Session, commitment_id: str, number: int) -> PayApp | None:
    query = (
        select(PayApp)
        .where(
            PayApp.commitment_id == commitment_id,
            PayApp.number < number,
            col(PayApp.status).in_(CERTIFIED),
        )
        .order_by(col(PayApp.number).desc())
    )
    return session.exec(query).first()


def lines(session: Session, pay_app_id: str) -> dict[str, PayAppLine]:
    """The pay app's lines by SOV line id."""
    query = select(PayAppLine).where(PayAppLine.pay_app_id == pay_app_id)
    return {line.sov_line_id: line for line in session.exec(query)}


def save_entries(session: Session, pay_app_id: str, entries: Mapping[str, LineEntry]) -> None:
    """Write the amounts per line, keeping each line's review fields."""
    existing = lines(session, pay_app_id)
    for sov_line_id, entry in entries.items():
        line = existing.get(sov_line_id) or PayAppLine(
            pay_app_id=pay_app_id, sov_line_id=sov_line_id
        )
        line.work_this_period = entry.work_this_period
        line.materials_stored = entry.materials_stored
        line.retainage_release = entry.retainage_release
        session.add(line)
    session.flush()


def delete(session: Session, pay_app: PayApp) -> None:
    for line in lines(session, pay_app.id).values():
        session.delete(line)
    session.flush()
    session.delete(pay_app)
    session.flush()


def bill_draws(session: Session, pay_app_id: str, draw_ids: list[str]) -> None:
    query = select(Draw).where(col(Draw.id).in_(draw_ids))
    for draw in session.exec(query):
        draw.billed_by_pay_app_id = pay_app_id
        session.add(draw)
    session.flush()


def release_draws(session: Session, pay_app_id: str) -> list[str]:
    """Make the draws this pay app billed billable again; returns their ids."""
    released = []
    for draw in session.exec(select(Draw).where(Draw.billed_by_pay_app_id == pay_app_id)):
        draw.billed_by_pay_app_id = None
        session.add(draw)
        released.append(draw.id)
    session.flush()
    return released


def payments(session: Session, pay_app_id: str) -> list[Payment]:
    query = select(Payment).where(Payment.pay_app_id == pay_app_id)
    return list(session.exec(query.order_by(col(Payment.created_at), col(Payment.id))))
