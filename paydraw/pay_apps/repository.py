"""Queries for pay applications, their lines, payments, draws and credit."""

from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from sqlalchemy import and_, exists
from sqlmodel import Session, col, func, select

from paydraw.db.tables import (
    BillingPeriod,
    Commitment,
    Contact,
    Draw,
    Invitation,
    PayApp,
    PayAppLine,
    Payment,
    Project,
    ProjectMember,
)
from paydraw.domain.errors import NotFound
from paydraw.domain.g702 import LineEntry
from paydraw.domain.transitions import InvitationStatus, PayAppStatus

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


def lock_commitment_of(session: Session, pay_app_id: str) -> tuple[Commitment, Project] | None:
    """The pay app's commitment, locked as `lock_commitment` locks it, and its project, in one
    query; None if there is no such pay app."""
    query = (
        select(Commitment, Project)
        .join(PayApp, col(PayApp.commitment_id) == col(Commitment.id))
        .join(Project, col(Project.id) == col(Commitment.project_id))
        .where(PayApp.id == pay_app_id)
        .with_for_update(of=Commitment)
        .execution_options(populate_existing=True)
    )
    return session.exec(query).first()


class Located(NamedTuple):
    """Where a pay app stands, read without pricing it: its commitment, period and status, and
    the role a staff user holds on its project (None without one)."""

    commitment_id: str
    period_id: str | None
    status: str
    role: str | None


def locate(session: Session, pay_app_id: str, user_id: str) -> Located | None:
    """One query for what an action needs before it goes to the workflow; None if there is no
    such pay app."""
    query = (
        select(PayApp.commitment_id, PayApp.period_id, PayApp.status, ProjectMember.role)
        .select_from(PayApp)
        .join(Commitment, col(Commitment.id) == col(PayApp.commitment_id))
        .outerjoin(
            ProjectMember,
            and_(
                col(ProjectMember.project_id) == col(Commitment.project_id),
                col(ProjectMember.user_id) == user_id,
            ),
        )
        .where(PayApp.id == pay_app_id)
    )
    row = session.exec(query).first()
    return None if row is None else Located(*row)


class ContactPayApp(NamedTuple):
    """What a contact's change needs before it goes to the workflow: the period's status and the
    live pay app of the kind asked for, if there is one."""

    period_status: str
    pay_app_id: str | None
    pay_app_status: str | None


def for_contact(
    session: Session, commitment_id: str, period_id: str, email: str, kind: str
) -> ContactPayApp | None:
    """The contact's period and live pay app in one query, within the scope that
    `paydraw.contacts.service.scope` defines: the commitment and period of one project, `email`
    still one of the commitment's invoice contacts, and the commitment invited to the period.
    None outside that scope."""
    invoice_contact = exists().where(
        col(Contact.commitment_id) == commitment_id,
        col(Contact.email) == email,
        col(Contact.invoice_contact).is_(True),
    )
    live = and_(
        col(PayApp.commitment_id) == col(Invitation.commitment_id),
        col(PayApp.period_id) == col(Invitation.period_id),
        col(PayApp.kind) == kind,
        col(PayApp.status) != PayAppStatus.VOID,
    )
    query = (
        select(BillingPeriod.status, PayApp.id, PayApp.status)
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
            Invitation.period_id == period_id,
            Invitation.commitment_id == commitment_id,
            Invitation.status != InvitationStatus.NOT_INVITED,
            invoice_contact,
        )
    )
    row = session.exec(query).first()
    return None if row is None else ContactPayApp(*row)


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


def lines(session: Session, pay_app_id: str) -> dict[str, PayAppLine]:
    """The pay app's lines by SOV line id."""
    query = select(PayAppLine).where(PayAppLine.pay_app_id == pay_app_id)
    return {line.sov_line_id: line for line in session.exec(query)}


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
    for line in lines(session, pay_app.id).values():
        session.delete(line)
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


def payments(session: Session, pay_app_id: str) -> list[Payment]:
    query = select(Payment).where(Payment.pay_app_id == pay_app_id)
    return list(session.exec(query.order_by(col(Payment.created_at), col(Payment.id))))
