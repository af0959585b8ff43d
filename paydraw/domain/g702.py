"""The AIA G702/G703 computation: one pay application from the SOV, what earlier applications
left on each line, and what this one bills.

Every amount is rounded to the cent per line, then summed, so the G702 totals always equal the
sum of the G703 columns a reader can add up on paper.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from paydraw.domain.contract import Contract, SovLine
from paydraw.domain.errors import InvalidInput
from paydraw.domain.money import CENT, ZERO, percent_of, to_money


@dataclass(frozen=True)
class LineHistory:
    """What earlier non-void applications left on one SOV line."""

    work_completed: Decimal = ZERO
    """Column D for the next application: the sum of E of earlier applications."""
    materials_stored: Decimal = ZERO
    """F of the latest earlier application: stored material still on site."""
    retainage_held_work: Decimal = ZERO
    """Retainage held on completed work to date (before any release)."""
    retainage_released: Decimal = ZERO
    """Retainage released to date on this line."""

    @property
    def completed_and_stored(self) -> Decimal:
        """Column G of the latest earlier application: what is already billed on the line."""
        return to_money(self.work_completed) + to_money(self.materials_stored)


@dataclass(frozen=True)
class LineEntry:
    """What this application bills on one SOV line."""

    work_this_period: Decimal = ZERO
    """Column E; negative as a correction, as long as D + E stays at or above 0."""
    materials_stored: Decimal = ZERO
    """Column F: materials presently stored, not in D or E."""
    retainage_release: Decimal = ZERO
    """Retainage this application releases on the line."""


@dataclass(frozen=True)
class G703Line:
    """One row of the continuation sheet (AIA G703)."""

    line_id: str
    code: str
    description: str
    scheduled_value: Decimal  # C
    from_previous: Decimal  # D
    this_period: Decimal  # E
    materials_stored: Decimal  # F
    completed_and_stored: Decimal  # G = D + E + F
    percent_complete: Decimal  # G / C * 100, two places; 0 when C is 0
    balance_to_finish: Decimal  # H = C - G
    retainage_work: Decimal  # held on D + E after this application
    retainage_materials: Decimal  # held on F
    retainage_released: Decimal  # to date, this application included
    retainage: Decimal  # I = work + materials - released
    billable_before: Decimal  # C - D - previous F, at least 0: still billable before this one
    materials_stored_before: Decimal  # F of the previous application, so G - C can be explained


@dataclass(frozen=True)
class G702:
    """The application and certificate for payment (AIA G702), numbered as on the form."""

    original_contract_sum: Decimal  # 1
    net_change_by_change_orders: Decimal  # 2
    contract_sum_to_date: Decimal  # 3 = 1 + 2
    total_completed_and_stored: Decimal  # 4 = sum of G
    retainage_on_completed_work: Decimal  # 5a
    retainage_on_stored_materials: Decimal  # 5b
    retainage_released: Decimal  # released to date
    total_retainage: Decimal  # 5 = 5a + 5b - released
    total_earned_less_retainage: Decimal  # 6 = 4 - 5
    previous_certificates: Decimal  # 7: line 6 of the last certificate, never typed
    current_payment_due: Decimal  # 8 = 6 - 7
    balance_to_finish_with_retainage: Decimal  # 9 = 3 - 6


@dataclass(frozen=True)
class Application:
    """A computed pay application: G703 rows in SOV order and the G702 summary."""

    lines: tuple[G703Line, ...]
    summary: G702


def billable(scheduled_value: Decimal, completed_and_stored_before: Decimal) -> Decimal:
    """What is still billable on a line: C less what is already billed on it, never below 0."""
    return max(ZERO, scheduled_value - completed_and_stored_before)


def compute_application(
    contract: Contract,
    history: Mapping[str, LineHistory],
    entries: Mapping[str, LineEntry],
    previous_certificate: Decimal,
) -> Application:
    """The G703 lines and G702 summary of one application.

    `history` and `entries` are by SOV line id; a missing line has nothing billed before and bills
    nothing now. `previous_certificate` is line 6 of the last finalized, non-void certificate (0 if
    none). Over-billing is not checked here (see `check_overbilling`), so a reviewer can see what
    an over-billed application would look like; a negative G or a release beyond what is held is
    refused.

    Sliding retainage picks its step by how complete the commitment was through earlier
    applications: sum of D / contract sum to date * 100 (work only, not stored material). The rate
    of this period's new work is then fixed before its amounts are typed, and crossing a step
    never changes retainage already held.
    """
    for line_id in [*history, *entries]:
        contract.line(line_id)
    percent_complete = _percent_complete_before(contract, history)
    lines = tuple(
        _g703_line(
            index,
            line,
            history.get(line.id, LineHistory()),
            entries.get(line.id, LineEntry()),
            *_rates(contract, line, percent_complete),
        )
        for index, line in enumerate(contract.lines)
    )
    return Application(lines, _g702(contract, lines, to_money(previous_certificate)))


def history_after(
    contract: Contract, history: Mapping[str, LineHistory], app: Application
) -> dict[str, LineHistory]:
    """The history the next application starts from. Lines the application does not show (a line
    added by change order since) keep the history they had."""
    after = {line.id: history.get(line.id, LineHistory()) for line in contract.lines}
    for line in app.lines:
        after[line.line_id] = LineHistory(
            work_completed=line.from_previous + line.this_period,
            materials_stored=line.materials_stored,
            retainage_held_work=line.retainage_work,
            retainage_released=line.retainage_released,
        )
    return after


def _percent_complete_before(contract: Contract, history: Mapping[str, LineHistory]) -> Decimal:
    contract_sum = contract.contract_sum_to_date
    if contract_sum == 0:
        return Decimal(0)
    work_before = _total(
        to_money(history.get(line.id, LineHistory()).work_completed) for line in contract.lines
    )
    return work_before / contract_sum * 100


def _rates(contract: Contract, line: SovLine, percent_complete: Decimal) -> tuple[Decimal, Decimal]:
    """The line's rates on work and on stored material: its own rate wins over the rule's, and
    the commitment's stored-material rate wins over both for stored material."""
    work_rate = line.retainage_percent
    if work_rate is None:
        work_rate = contract.retainage.rate_at(percent_complete)
    stored_rate = contract.stored_materials_retainage_percent
    return work_rate, work_rate if stored_rate is None else stored_rate


def _g703_line(
    index: int,
    line: SovLine,
    past: LineHistory,
    entry: LineEntry,
    work_rate: Decimal,
    stored_rate: Decimal,
) -> G703Line:
    before = to_money(past.work_completed)
    this_period = to_money(entry.work_this_period)
    stored = to_money(entry.materials_stored)
    _check_entry(index, before + this_period, stored, to_money(entry.retainage_release))
    # New work is retained at today's rate; what is held already stays as it was held. A
    # correction returns retainage at today's rate too, which under a rate that has gone up
    # could return more than the line holds: it stops at nothing held.
    retainage_work = max(
        ZERO,
        to_money(past.retainage_held_work)
        + percent_of(before + this_period, work_rate)
        - percent_of(before, work_rate),
    )
    retainage_materials = percent_of(stored, stored_rate)
    released = to_money(past.retainage_released) + to_money(entry.retainage_release)
    retainage = retainage_work + retainage_materials - released
    if retainage < 0:
        raise InvalidInput(
            f"lines[{index}].retainage_release",
            f"releases {released} on line {line.code}, more than the "
            f"{retainage_work + retainage_materials} held",
        )
    completed = before + this_period + stored
    scheduled_value = line.scheduled_value
    return G703Line(
        line_id=line.id,
        code=line.code,
        description=line.description,
        scheduled_value=scheduled_value,
        from_previous=before,
        this_period=this_period,
        materials_stored=stored,
        completed_and_stored=completed,
        percent_complete=_percent(completed, scheduled_value),
        balance_to_finish=scheduled_value - completed,
        retainage_work=retainage_work,
        retainage_materials=retainage_materials,
        retainage_released=released,
        retainage=retainage,
        billable_before=billable(scheduled_value, past.completed_and_stored),
        materials_stored_before=to_money(past.materials_stored),
    )


def _check_entry(index: int, work_to_date: Decimal, stored: Decimal, release: Decimal) -> None:
    field = f"lines[{index}]"
    if work_to_date < 0:
        raise InvalidInput(
            f"{field}.work_this_period",
            f"takes work completed to date to {work_to_date}; a correction stops at 0.00",
        )
    if stored < 0:
        raise InvalidInput(f"{field}.materials_stored", "cannot be negative")
    if release < 0:
        raise InvalidInput(f"{field}.retainage_release", "cannot be negative")


def _g702(contract: Contract, lines: tuple[G703Line, ...], previous_certificate: Decimal) -> G702:
    on_work = _total(line.retainage_work for line in lines)
    on_materials = _total(line.retainage_materials for line in lines)
    released = _total(line.retainage_released for line in lines)
    total_completed = _total(line.completed_and_stored for line in lines)
    total_retainage = on_work + on_materials - released
    earned = total_completed - total_retainage
    return G702(
        original_contract_sum=contract.original_sum,
        net_change_by_change_orders=contract.change_orders_sum,
        contract_sum_to_date=contract.contract_sum_to_date,
        total_completed_and_stored=total_completed,
        retainage_on_completed_work=on_work,
        retainage_on_stored_materials=on_materials,
        retainage_released=released,
        total_retainage=total_retainage,
        total_earned_less_retainage=earned,
        previous_certificates=previous_certificate,
        current_payment_due=earned - previous_certificate,
        balance_to_finish_with_retainage=contract.contract_sum_to_date - earned,
    )


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    if whole == 0:
        return ZERO
    return (part / whole * 100).quantize(CENT, rounding=ROUND_HALF_UP)


def _total(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, ZERO)
