"""A pay app's G702/G703 figures, computed by the domain core from the commitment's ledger."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from paydraw.commitments.ledger import history_before, load_contract
from paydraw.db.tables import Commitment, PayApp, PayAppLine
from paydraw.domain.contract import Contract
from paydraw.domain.g702 import G702, Application, LineEntry, LineHistory, compute_application
from paydraw.pay_apps import repository


@dataclass(frozen=True)
class Before:
    """What a pay app starts from: the contract as it stands, what the non-void pay apps numbered
    before it left on each line, and line 6 of the last certificate issued before it."""

    contract: Contract
    history: dict[str, LineHistory]
    previous_certificate: Decimal

    def compute(self, entries: Mapping[str, LineEntry]) -> Application:
        return compute_application(self.contract, self.history, entries, self.previous_certificate)


@dataclass(frozen=True)
class Priced:
    """A pay app priced once in a step: what it starts from, its stored lines by SOV line id, and
    its G702/G703 figures. The step's checks, audit event, emails and answer all read this one."""

    before: Before
    lines: dict[str, PayAppLine]
    app: Application


def before(session: Session, commitment: Commitment, number: int) -> Before:
    """Line 7 comes from the frozen certificate, not a replay, so a change order approved since
    cannot move what was certified."""
    contract = load_contract(session, commitment)
    history, previous = history_before(session, contract, commitment.id, number)
    return Before(contract, history, previous)


def stored_entries(lines: Mapping[str, PayAppLine]) -> dict[str, LineEntry]:
    return {
        sov_line_id: LineEntry(line.work_this_period, line.materials_stored, line.retainage_release)
        for sov_line_id, line in lines.items()
    }


def priced(session: Session, commitment: Commitment, pay_app: PayApp) -> Priced:
    """What `pay_app` starts from, and its figures from the amounts stored on its lines."""
    start = before(session, commitment, pay_app.number)
    lines = repository.lines(session, pay_app.id)
    return Priced(start, lines, start.compute(stored_entries(lines)))


def certificate(summary: G702) -> dict[str, str]:
    """Every G702 figure as a string with two places, as it is frozen on finalize."""
    return {figure: f"{amount:.2f}" for figure, amount in asdict(summary).items()}


def money_detail(app: Application) -> dict[str, Any]:
    """What an audit event keeps of the money: the G702 figures and what each line bills."""
    return {
        "summary": certificate(app.summary),
        "lines": {
            line.code: {
                "work_this_period": f"{line.this_period:.2f}",
                "materials_stored": f"{line.materials_stored:.2f}",
                "retainage_released_to_date": f"{line.retainage_released:.2f}",
            }
            for line in app.lines
        },
    }
