"""Queries for lien waivers: the signed ones, an admin's exemptions, and the board's facts."""

from collections.abc import Collection
from decimal import Decimal
from typing import Any

import sqlalchemy
from sqlalchemy import Integer, String, and_, literal, null
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from paydraw.db.tables import (
    Commitment,
    LienWaiver,
    LienWaiverExemption,
    PayApp,
    Payment,
)
from paydraw.db.types import Money
from paydraw.domain.transitions import PayAppStatus
from paydraw.domain.waivers import RETAINAGE_RELEASE


def signed(session: Session, pay_app_id: str, kind: str, amount: Decimal) -> LienWaiver | None:
    """The waiver of this kind signed for this pay app and amount, if any."""
    query = select(LienWaiver).where(
        LienWaiver.pay_app_id == pay_app_id, LienWaiver.kind == kind, LienWaiver.amount == amount
    )
    return session.exec(query.options(defer(LienWaiver.pdf))).first()  # type: ignore[arg-type]


def signed_for(session: Session, pay_app_ids: Collection[str]) -> list[LienWaiver]:
    """The waivers signed for these pay apps, oldest first, without their PDFs."""
    query = (
        select(LienWaiver)
        .where(col(LienWaiver.pay_app_id).in_(list(pay_app_ids)))
        .order_by(col(LienWaiver.signed_at), col(LienWaiver.id))
        .options(defer(LienWaiver.pdf))  # type: ignore[arg-type]
    )
    return list(session.exec(query))


def add_signed(session: Session, waiver: LienWaiver) -> bool:
    """Store the signed waiver; False if the same pay app, kind and amount was signed already
    (a signing that raced this one and won)."""
    try:
        with session.begin_nested():
            session.add(waiver)
    except IntegrityError:
        return False
    return True


def exemption(session: Session, pay_app_id: str, kind: str) -> LienWaiverExemption | None:
    query = select(LienWaiverExemption).where(
        LienWaiverExemption.pay_app_id == pay_app_id, LienWaiverExemption.kind == kind
    )
    return session.exec(query).first()


def pay_apps_in_period(session: Session, commitment_id: str, period_id: str) -> list[PayApp]:
    """The commitment's non-void pay apps of the period, in number order."""
    query = select(PayApp).where(
        PayApp.commitment_id == commitment_id,
        PayApp.period_id == period_id,
        PayApp.status != PayAppStatus.VOID,
    )
    return list(session.exec(query.order_by(col(PayApp.number))))


def _columns(
    tag: str,
    commitment_id: Any,
    pay_app_id: Any,
    number: Any,
    kind: Any,
    status: Any,
    amount: Any,
) -> list[Any]:
    return [
        literal(tag, String).label("tag"),
        commitment_id.label("commitment_id"),
        pay_app_id.label("pay_app_id"),
        number.label("number"),
        kind.label("kind"),
        status.label("status"),
        amount.label("amount"),
    ]


def board_facts(session: Session, project_id: str, period_id: str) -> list[Any]:
    """In one query, what the board needs to mark the waivers missing in a period: its pay apps
    still on their way to being paid (`open`), the project's progress pay apps that received
    money and how much (`paid`), the waivers signed (`signed`) and waived (`waived`)."""
    in_project = sqlalchemy.select(col(Commitment.id)).where(
        col(Commitment.project_id) == project_id
    )
    still_open = sqlalchemy.select(
        *_columns(
            "open",
            col(PayApp.commitment_id),
            col(PayApp.id),
            col(PayApp.number),
            col(PayApp.kind),
            col(PayApp.status),
            col(PayApp.current_payment_due),
        )
    ).where(
        col(PayApp.period_id) == period_id,
        col(PayApp.status).not_in([PayAppStatus.VOID, PayAppStatus.PAID]),
    )
    paid = (
        sqlalchemy.select(
            *_columns(
                "paid",
                col(PayApp.commitment_id),
                col(PayApp.id),
                col(PayApp.number),
                col(PayApp.kind),
                col(PayApp.status),
                func.sum(Payment.amount),
            )
        )
        .join(Payment, col(Payment.pay_app_id) == col(PayApp.id))
        .where(
            col(PayApp.commitment_id).in_(in_project),
            col(PayApp.status) != PayAppStatus.VOID,
            col(PayApp.kind) != RETAINAGE_RELEASE,
        )
        .group_by(
            col(PayApp.id),
            col(PayApp.commitment_id),
            col(PayApp.number),
            col(PayApp.kind),
            col(PayApp.status),
        )
        .having(func.sum(Payment.amount) > 0)
    )
    signed_waivers = sqlalchemy.select(
        *_columns(
            "signed",
            col(LienWaiver.commitment_id),
            col(LienWaiver.pay_app_id),
            null().cast(Integer),
            col(LienWaiver.kind),
            null().cast(String),
            col(LienWaiver.amount),
        )
    ).where(col(LienWaiver.project_id) == project_id)
    waived = sqlalchemy.select(
        *_columns(
            "waived",
            null().cast(String),
            col(LienWaiverExemption.pay_app_id),
            null().cast(Integer),
            col(LienWaiverExemption.kind),
            null().cast(String),
            null().cast(Money),
        )
    ).where(and_(col(LienWaiverExemption.project_id) == project_id))
    return list(session.execute(sqlalchemy.union_all(still_open, paid, signed_waivers, waived)))
