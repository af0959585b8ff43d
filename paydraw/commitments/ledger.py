"""A commitment's billing history, recomputed from its pay applications by the domain core.

Every figure that reports show (billed, retainage, certified) comes from here, so the API, the
workflows and the reports share one computation.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby

import sqlalchemy
from sqlmodel import Session, col, select

from paydraw.commitments import repository
from paydraw.db.tables import Commitment, PayApp, PayAppLine, Payment
from paydraw.domain.contract import Contract, SovLine
from paydraw.domain.g702 import (
    Application,
    LineEntry,
    LineHistory,
    compute_application,
    history_after,
)
from paydraw.domain.retainage import RetainageRule, RetainageStep
from paydraw.domain.transitions import PayAppStatus

CERTIFIED = (PayAppStatus.FINALIZED, PayAppStatus.PAID)


def retainage_rule(commitment: Commitment) -> RetainageRule:
    return RetainageRule(
        steps=tuple(
            RetainageStep(
                percent=Decimal(str(step["percent"])),
                until_percent_complete=(
                    None
                    if step.get("until_percent_complete") is None
                    else Decimal(str(step["until_percent_complete"]))
                ),
            )
            for step in commitment.retainage_steps
        )
    )


def load_contract(session: Session, commitment: Commitment) -> Contract:
    """The commitment as the domain core sees it: SOV lines with approved change orders."""
    lines = tuple(
        SovLine(
            id=line.id,
            code=line.code,
            description=line.description,
            original_value=line.original_value,
            change_orders=line.change_orders,
            retainage_percent=line.retainage_percent,
        )
        for line in repository.contract_lines(session, commitment.id)
    )
    return Contract(
        lines=lines,
        retainage=retainage_rule(commitment),
        stored_materials_retainage_percent=commitment.stored_materials_retainage_percent,
    )


@dataclass(frozen=True)
class LedgerEntry:
    pay_app: PayApp
    application: Application
    paid: Decimal


@dataclass
class Ledger:
    contract: Contract
    entries: list[LedgerEntry] = field(default_factory=list)
    history: dict[str, LineHistory] = field(default_factory=dict)
    last_certificate: Decimal = Decimal("0.00")

    @property
    def certified(self) -> list[LedgerEntry]:
        return [entry for entry in self.entries if entry.pay_app.status in CERTIFIED]


def pay_apps(session: Session, commitment_id: str) -> list[PayApp]:
    """The commitment's pay applications that count (every one but the void), in number order."""
    query = select(PayApp).where(
        PayApp.commitment_id == commitment_id, PayApp.status != PayAppStatus.VOID
    )
    return list(session.exec(query.order_by(col(PayApp.number))))


def entries_by_pay_app(session: Session, pay_app_ids: list[str]) -> dict[str, dict[str, LineEntry]]:
    lines: dict[str, dict[str, LineEntry]] = defaultdict(dict)
    query = select(PayAppLine).where(col(PayAppLine.pay_app_id).in_(pay_app_ids))
    for line in session.exec(query):
        lines[line.pay_app_id][line.sov_line_id] = LineEntry(
            work_this_period=line.work_this_period,
            materials_stored=line.materials_stored,
            retainage_release=line.retainage_release,
        )
    return lines


def paid_by_pay_app(session: Session, pay_app_ids: list[str]) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = defaultdict(Decimal)
    query = select(Payment).where(col(Payment.pay_app_id).in_(pay_app_ids))
    for payment in session.exec(query):
        paid[payment.pay_app_id] += payment.amount
    return paid


def build_ledger(session: Session, commitment: Commitment) -> Ledger:
    """Replay every non-void pay application in order; line 7 of each is the line 6 of the last
    certified one before it, never a typed figure."""
    ledger = Ledger(contract=load_contract(session, commitment))
    apps = pay_apps(session, commitment.id)
    ids = [app.id for app in apps]
    entries = entries_by_pay_app(session, ids)
    paid = paid_by_pay_app(session, ids)
    for app in apps:
        application = compute_application(
            ledger.contract, ledger.history, entries.get(app.id, {}), ledger.last_certificate
        )
        ledger.entries.append(LedgerEntry(app, application, paid.get(app.id, Decimal("0.00"))))
        ledger.history = history_after(ledger.contract, ledger.history, application)
        if app.status in CERTIFIED:
            ledger.last_certificate = application.summary.total_earned_less_retainage
    return ledger


HISTORY_BEFORE = (
    sqlalchemy.select(  # sqlmodel's select types at most four columns
        col(PayApp.id),
        col(PayApp.status),
        col(PayApp.total_earned_less_retainage),
        col(PayAppLine.sov_line_id),
        col(PayAppLine.work_this_period),
        col(PayAppLine.materials_stored),
        col(PayAppLine.retainage_release),
    )
    .outerjoin(PayAppLine, col(PayAppLine.pay_app_id) == col(PayApp.id))
    .where(
        col(PayApp.commitment_id) == sqlalchemy.bindparam("commitment_id", type_=sqlalchemy.String),
        col(PayApp.number) < sqlalchemy.bindparam("number", type_=sqlalchemy.Integer),
        col(PayApp.status) != PayAppStatus.VOID,
    )
    .order_by(col(PayApp.number))
)


def history_before(
    session: Session, contract: Contract, commitment_id: str, number: int
) -> tuple[dict[str, LineHistory], Decimal]:
    """What the non-void pay applications numbered before `number` left on each line, replayed in
    order, and line 6 of the last certificate among them as it was frozen on finalize.

    One query reads just the columns the replay needs (a pay app without lines still counts:
    it leaves no stored material behind)."""
    result = session.execute(HISTORY_BEFORE, {"commitment_id": commitment_id, "number": number})
    history: dict[str, LineHistory] = {}
    replayed_certificate = previous_certificate = Decimal("0.00")
    for (_, status, earned), rows in groupby(result, key=lambda row: row[:3]):
        entries = {
            sov_line_id: LineEntry(work, stored, released)
            for _, _, _, sov_line_id, work, stored, released in rows
            if sov_line_id is not None
        }
        application = compute_application(contract, history, entries, replayed_certificate)
        history = history_after(contract, history, application)
        if status in CERTIFIED:
            replayed_certificate = application.summary.total_earned_less_retainage
            previous_certificate = earned
    return history, previous_certificate
