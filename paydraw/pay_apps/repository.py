"""Queries for pay applications, their lines, payments, draws and credit."""

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy
from sqlalchemy import String, and_, bindparam, exists
from sqlmodel import Session, col, func, select

from paydraw.db.tables import (
    BillingPeriod,
    Commitment,
    Contact,
    Draw,
    Invitation,
    LienWaiver,
    LienWaiverExemption,
    PayApp,
    PayAppAttachment,
    PayAppLine,
    Payment,
    Project,
    ProjectMember,
)
from paydraw.domain.errors import NotFound
from paydraw.domain.g702 import LineEntry
from paydraw.domain.money import to_money
from paydraw.domain.transitions import InvitationStatus, PayAppStatus
from paydraw.domain.waivers import PaidPayApp

UNFINISHED = (
    PayAppStatus.DRAFT,
    PayAppStatus.UNDER_REVIEW,
    PayAppStatus.REVISE_AND_RESUBMIT,
    PayAppStatus.APPROVED,
)


# The statements of the busiest queries are built once, with bound parameters, and reused: one
# built afresh for every call costs more Python than running it (the ORM compiles its structure
# and its cache key each time).

LOCK_COMMITMENT = (
    select(Commitment)
    .where(Commitment.id == bindparam("commitment_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_commitment(session: Session, commitment_id: str) -> Commitment:
    """The commitment, locked until the transaction ends: every change to its billing takes this
    lock first, so two requests never compute from the same history. (SQLite ignores FOR UPDATE;
    there BEGIN IMMEDIATE already serializes writers.)"""
    commitment = session.exec(LOCK_COMMITMENT, params={"commitment_id": commitment_id}).first()
    if commitment is None:
        raise NotFound(f"commitment {commitment_id} not found")
    return commitment


LOCK_COMMITMENT_OF = (
    select(Commitment, Project)
    .join(PayApp, col(PayApp.commitment_id) == col(Commitment.id))
    .join(Project, col(Project.id) == col(Commitment.project_id))
    .where(PayApp.id == bindparam("pay_app_id"))
    .with_for_update(of=Commitment)
    .execution_options(populate_existing=True)
)


def lock_commitment_of(session: Session, pay_app_id: str) -> tuple[Commitment, Project] | None:
    """The pay app's commitment, locked as `lock_commitment` locks it, and its project, in one
    query; None if there is no such pay app."""
    return session.exec(LOCK_COMMITMENT_OF, params={"pay_app_id": pay_app_id}).first()


class Located(NamedTuple):
    """Where a pay app stands, read without pricing it: its commitment, period and status, and
    the role a staff user holds on its project (None without one)."""

    commitment_id: str
    period_id: str | None
    status: str
    role: str | None
    project_id: str


LOCATE = (
    sqlalchemy.select(
        col(PayApp.commitment_id),
        col(PayApp.period_id),
        col(PayApp.status),
        col(ProjectMember.role),
        col(Commitment.project_id),
    )
    .select_from(PayApp)
    .join(Commitment, col(Commitment.id) == col(PayApp.commitment_id))
    .outerjoin(
        ProjectMember,
        and_(
            col(ProjectMember.project_id) == col(Commitment.project_id),
            col(ProjectMember.user_id) == bindparam("user_id"),
        ),
    )
    .where(col(PayApp.id) == bindparam("pay_app_id"))
)


def locate(session: Session, pay_app_id: str, user_id: str) -> Located | None:
    """One query for what an action needs before it goes to the workflow; None if there is no
    such pay app."""
    row = session.execute(LOCATE, {"pay_app_id": pay_app_id, "user_id": user_id}).first()
    return None if row is None else Located(*row)


class ContactPayApp(NamedTuple):
    """What a contact's change needs before it goes to the workflow: the period's status and the
    live pay app of the kind asked for, if there is one."""

    period_status: str
    pay_app_id: str | None
    pay_app_status: str | None
    project_id: str


def _for_contact_query() -> sqlalchemy.Select[str, str | None, str | None, str]:
    commitment_id = bindparam("commitment_id", type_=String)
    period_id = bindparam("period_id", type_=String)
    invoice_contact = exists().where(
        col(Contact.commitment_id) == commitment_id,
        col(Contact.email) == bindparam("email"),
        col(Contact.invoice_contact).is_(True),
    )
    live = and_(
        col(PayApp.commitment_id) == col(Invitation.commitment_id),
        col(PayApp.period_id) == col(Invitation.period_id),
        col(PayApp.kind) == bindparam("kind"),
        col(PayApp.status) != PayAppStatus.VOID,
    )
    return (
        sqlalchemy.select(
            col(BillingPeriod.status),
            col(PayApp.id),
            col(PayApp.status),
            col(BillingPeriod.project_id),
        )
        .select_from(Invitation)
        .join(BillingPeriod, col(BillingPeriod.id) == col(Invitation.period_id))
        .join(
            Commitment,
            and_(
                col(Commitment.id) == col(Invitation.commitment_id),
                col(Commitment.project_id) == col(BillingPeriod.project_id),
            ),
        )
        .outerjoin(PayApp, live)
        .where(
            col(Invitation.period_id) == period_id,
            col(Invitation.commitment_id) == commitment_id,
            col(Invitation.status) != InvitationStatus.NOT_INVITED,
            invoice_contact,
        )
    )


FOR_CONTACT = _for_contact_query()


def for_contact(
    session: Session, commitment_id: str, period_id: str, email: str, kind: str
) -> ContactPayApp | None:
    """The contact's period and live pay app in one query, within the scope that
    `paydraw.contacts.service.scope` defines: the commitment and period of one project, `email`
    still one of the commitment's invoice contacts, and the commitment invited to the period.
    None outside that scope."""
    params = {"commitment_id": commitment_id, "period_id": period_id, "email": email, "kind": kind}
    row = session.execute(FOR_CONTACT, params).first()
    return None if row is None else ContactPayApp(*row)


FRESH = (
    select(PayApp)
    .where(PayApp.id == bindparam("pay_app_id"))
    .execution_options(populate_existing=True)
)


def fresh(session: Session, pay_app_id: str) -> PayApp | None:
    """The pay app as committed now, not as this session may have read it before a lock."""
    return session.exec(FRESH, params={"pay_app_id": pay_app_id}).first()


NEXT_NUMBER = select(func.max(PayApp.number)).where(
    PayApp.commitment_id == bindparam("commitment_id")
)


def next_number(session: Session, commitment_id: str) -> int:
    return (session.exec(NEXT_NUMBER, params={"commitment_id": commitment_id}).one() or 0) + 1


LIVE_PAY_APP = select(PayApp).where(
    PayApp.commitment_id == bindparam("commitment_id"),
    PayApp.period_id == bindparam("period_id"),
    PayApp.kind == bindparam("kind"),
    PayApp.status != PayAppStatus.VOID,
)


def live_pay_app(session: Session, commitment_id: str, period_id: str, kind: str) -> PayApp | None:
    """The non-void pay app of the commitment for this period and kind, if any."""
    params = {"commitment_id": commitment_id, "period_id": period_id, "kind": kind}
    return session.exec(LIVE_PAY_APP, params=params).first()


def in_period(session: Session, commitment_id: str, period_id: str) -> list[PayApp]:
    """Every pay app of the commitment billed in the period, void ones and every kind included,
    newest first."""
    query = select(PayApp).where(
        PayApp.commitment_id == commitment_id, PayApp.period_id == period_id
    )
    return list(session.exec(query.order_by(col(PayApp.number).desc())))


def drafts_in_period(session: Session, period_id: str) -> list[str]:
    """The ids of the period's pay apps still in draft, oldest first."""
    query = select(PayApp.id).where(
        PayApp.period_id == period_id, PayApp.status == PayAppStatus.DRAFT
    )
    return list(session.exec(query.order_by(col(PayApp.number))))


UNFINISHED_PAY_APP = select(PayApp).where(
    PayApp.commitment_id == bindparam("commitment_id"), col(PayApp.status).in_(UNFINISHED)
)


def unfinished_pay_app(session: Session, commitment_id: str) -> PayApp | None:
    """A pay app of the commitment still on its way to a certificate."""
    return session.exec(UNFINISHED_PAY_APP, params={"commitment_id": commitment_id}).first()


LATER_PAY_APP = select(PayApp).where(
    PayApp.commitment_id == bindparam("commitment_id"),
    PayApp.number > bindparam("number"),
    PayApp.status != PayAppStatus.VOID,
)


def later_pay_app(session: Session, pay_app: PayApp) -> PayApp | None:
    """A non-void pay app of the same commitment numbered after `pay_app`."""
    params = {"commitment_id": pay_app.commitment_id, "number": pay_app.number}
    return session.exec(LATER_PAY_APP, params=params).first()


LINES = select(PayAppLine).where(PayAppLine.pay_app_id == bindparam("pay_app_id"))


def lines(session: Session, pay_app_id: str) -> dict[str, PayAppLine]:
    """The pay app's lines by SOV line id."""
    rows = session.exec(LINES, params={"pay_app_id": pay_app_id})
    return {line.sov_line_id: line for line in rows}


def save_entries(
    session: Session, pay_app_id: str, entries: Mapping[str, LineEntry]
) -> dict[str, PayAppLine]:
    """Write the amounts per line, keeping each line's review fields; returns the pay app's lines
    by SOV line id, as `lines` would read them now."""
    stored = lines(session, pay_app_id)
    for sov_line_id, entry in entries.items():
        line = stored.get(sov_line_id) or PayAppLine(pay_app_id=pay_app_id, sov_line_id=sov_line_id)
        line.work_this_period = entry.work_this_period
        line.materials_stored = entry.materials_stored
        line.retainage_release = entry.retainage_release
        session.add(line)
        stored[sov_line_id] = line
    session.flush()
    return stored


def delete(session: Session, pay_app: PayApp) -> None:
    """The draft, its lines and its attachments' rows; the attachments' stored objects are left
    to the storage's sweep of objects no row names (paydraw.attachments.service.sweep)."""
    for line in lines(session, pay_app.id).values():
        session.delete(line)
    attached = select(PayAppAttachment).where(PayAppAttachment.pay_app_id == pay_app.id)
    for attachment in session.exec(attached):
        session.delete(attachment)
    session.flush()
    session.delete(pay_app)
    session.flush()


def rebill_draws(
    session: Session, draws: Sequence[Draw], pay_app_id: str, draw_ids: Collection[str]
) -> None:
    """On the commitment's `draws` as this transaction read them: the pay app bills `draw_ids`,
    and the other draws it billed are billable again."""
    for draw in draws:
        if draw.id in draw_ids:
            billed_by: str | None = pay_app_id
        elif draw.billed_by_pay_app_id == pay_app_id:
            billed_by = None
        else:
            continue
        if draw.billed_by_pay_app_id != billed_by:
            draw.billed_by_pay_app_id = billed_by
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


PAYMENTS = (
    select(Payment)
    .where(Payment.pay_app_id == bindparam("pay_app_id"))
    .order_by(col(Payment.created_at), col(Payment.id))
)


def payments(session: Session, pay_app_id: str) -> list[Payment]:
    return list(session.exec(PAYMENTS, params={"pay_app_id": pay_app_id}))


PREVIOUS_PAID = (
    select(PayApp.id, PayApp.number, func.sum(Payment.amount))
    .join(Payment, col(Payment.pay_app_id) == col(PayApp.id))
    .where(
        PayApp.commitment_id == bindparam("commitment_id"),
        PayApp.number < bindparam("number"),
        PayApp.status != PayAppStatus.VOID,
        PayApp.kind != "retainage_release",
    )
    .group_by(col(PayApp.id), col(PayApp.number))
    .having(func.sum(Payment.amount) > 0)
    .order_by(col(PayApp.number).desc())
    .limit(1)
)


def previous_paid(session: Session, commitment_id: str, number: int) -> PaidPayApp | None:
    """The last progress pay app numbered before `number` that received money, and how much."""
    params = {"commitment_id": commitment_id, "number": number}
    row = session.exec(PREVIOUS_PAID, params=params).first()
    return PaidPayApp(row[0], row[1], to_money(row[2])) if row else None


def signed_waivers(session: Session, pay_app_ids: Collection[str]) -> set[tuple[str, str, Decimal]]:
    """(pay app id, kind, amount) of every lien waiver signed for these pay apps."""
    query = sqlalchemy.select(
        col(LienWaiver.pay_app_id), col(LienWaiver.kind), col(LienWaiver.amount)
    ).where(col(LienWaiver.pay_app_id).in_(list(pay_app_ids)))
    return {(pay_app_id, kind, amount) for pay_app_id, kind, amount in session.execute(query)}


def waived_kinds(session: Session, pay_app_id: str) -> dict[str, LienWaiverExemption]:
    """The lien waivers an admin waived for this pay app, by kind."""
    query = select(LienWaiverExemption).where(LienWaiverExemption.pay_app_id == pay_app_id)
    return {exemption.kind: exemption for exemption in session.exec(query)}
