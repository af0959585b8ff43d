"""Queries for pay apps' backup documents."""

from sqlmodel import Session, col, func, select

from paydraw.db.tables import PayAppAttachment


def of_pay_app(session: Session, pay_app_id: str) -> list[PayAppAttachment]:
    """The pay app's attachments, the first added first."""
    query = (
        select(PayAppAttachment)
        .where(PayAppAttachment.pay_app_id == pay_app_id)
        .order_by(col(PayAppAttachment.added_at), col(PayAppAttachment.id))
    )
    return list(session.exec(query))


def total_size(session: Session, pay_app_id: str) -> int:
    query = select(func.coalesce(func.sum(PayAppAttachment.size), 0)).where(
        PayAppAttachment.pay_app_id == pay_app_id
    )
    return int(session.exec(query).one())


def stored_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of `keys` an attachment row names."""
    query = select(PayAppAttachment.storage_key).where(col(PayAppAttachment.storage_key).in_(keys))
    return set(session.exec(query))
