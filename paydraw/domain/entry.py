"""Entry modes: the ways a contact or an admin fills a pay application, each turned into the
per-line entries `compute_application` takes.

Modes that know the history carry stored material over (F stays as the last application left
it) on every line they do not bill, so a line nobody touched keeps what is on site.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from paydraw.domain.contract import Contract, Draw, SovLine
from paydraw.domain.errors import InvalidInput
from paydraw.domain.g702 import LineEntry, LineHistory, billable
from paydraw.domain.money import ZERO, percent_of, require_percent, spread_pro_rata, to_money


def per_line_amounts(
    contract: Contract, amounts: Mapping[str, tuple[Decimal, Decimal]]
) -> dict[str, LineEntry]:
    """Amounts typed per line, as (work this period E, materials presently stored F). Lines not
    named bill nothing and store nothing."""
    _reject_unknown(contract, amounts)
    return {
        line.id: LineEntry(
            work_this_period=to_money(amounts[line.id][0]),
            materials_stored=to_money(amounts[line.id][1]),
        )
        for line in contract.lines
        if line.id in amounts
    }


def per_line_percent_complete(
    contract: Contract, history: Mapping[str, LineHistory], percents: Mapping[str, Decimal]
) -> dict[str, LineEntry]:
    """Percent complete to date per line: G becomes that percent of C, stored material stays as
    it was, and E is whatever is left (negative when the percent goes down)."""
    _reject_unknown(contract, percents)
    entries = _carried_over(contract, history)
    for index, line in enumerate(contract.lines):
        if line.id in percents:
            entries[line.id] = _to_percent(index, line, _past(history, line), percents[line.id])
    return entries


def whole_contract_percent(
    contract: Contract, history: Mapping[str, LineHistory], percent: Decimal
) -> dict[str, LineEntry]:
    """One percent complete to date for the whole contract; the amount it adds this period is
    spread over the lines like `whole_contract_amount`."""
    require_percent(percent, "percent")
    to_date = percent_of(contract.contract_sum_to_date, percent)
    billed = sum((_past(history, line).completed_and_stored for line in contract.lines), ZERO)
    return _spread_over_billable(contract, history, to_date - billed, "percent")


def whole_contract_amount(
    contract: Contract, history: Mapping[str, LineHistory], amount: Decimal
) -> dict[str, LineEntry]:
    """One amount for the whole contract, spread over the lines pro rata to what is still
    billable on each (see `spread_pro_rata` for the remainder cents), so no line goes over."""
    return _spread_over_billable(contract, history, to_money(amount), "amount")


def selected_draws(
    contract: Contract,
    history: Mapping[str, LineHistory],
    draws: Sequence[Draw],
    selected_ids: Sequence[str],
) -> dict[str, LineEntry]:
    """The selected draws' preset amounts, together spread like `whole_contract_amount`."""
    if not selected_ids:
        raise InvalidInput("draw_ids", "select at least one draw")
    by_id = {draw.id: draw for draw in draws}
    total = ZERO
    for draw_id in dict.fromkeys(selected_ids):
        draw = by_id.get(draw_id)
        if draw is None:
            raise InvalidInput("draw_ids", f"unknown draw {draw_id}")
        if draw.billed:
            raise InvalidInput("draw_ids", f"draw {draw.name} is already billed")
        total += to_money(draw.amount)
    return _spread_over_billable(contract, history, total, "draw_ids")


def selected_lines(
    contract: Contract, history: Mapping[str, LineHistory], line_ids: Sequence[str]
) -> dict[str, LineEntry]:
    """Each selected line billed to its full remaining balance; the others bill nothing."""
    if not line_ids:
        raise InvalidInput("line_ids", "select at least one line")
    _reject_unknown(contract, line_ids)
    selected = set(line_ids)
    entries = _carried_over(contract, history)
    for line in contract.lines:
        if line.id in selected:
            remaining = billable(line.scheduled_value, _past(history, line).completed_and_stored)
            entries[line.id] = replace(entries[line.id], work_this_period=remaining)
    return entries


def retainage_release(
    contract: Contract, history: Mapping[str, LineHistory], amount: Decimal | None
) -> dict[str, LineEntry]:
    """Release `amount` of retainage (None = all that is held), spread pro rata over what each
    line still holds on its work."""
    held = [_held(_past(history, line)) for line in contract.lines]
    total_held = sum(held, ZERO)
    release = total_held if amount is None else to_money(amount)
    if not ZERO < release <= total_held:
        raise InvalidInput(
            "amount", f"a release must be above 0.00 and at most the {total_held} held"
        )
    shares = spread_pro_rata(release, held)
    carried = _carried_over(contract, history)
    return {
        line_id: replace(entry, retainage_release=share)
        for (line_id, entry), share in zip(carried.items(), shares, strict=True)
    }


def _reject_unknown(contract: Contract, line_ids: Iterable[str]) -> None:
    for line_id in line_ids:
        contract.line(line_id)


def _past(history: Mapping[str, LineHistory], line: SovLine) -> LineHistory:
    return history.get(line.id, LineHistory())


def _carried_over(contract: Contract, history: Mapping[str, LineHistory]) -> dict[str, LineEntry]:
    """No new work on any line, stored material left as it was: the start of every mode."""
    return {
        line.id: LineEntry(materials_stored=to_money(_past(history, line).materials_stored))
        for line in contract.lines
    }


def _to_percent(index: int, line: SovLine, past: LineHistory, percent: Decimal) -> LineEntry:
    field = f"lines[{index}].percent_complete"
    require_percent(percent, field)
    to_date = percent_of(line.scheduled_value, percent)
    stored = to_money(past.materials_stored)
    if to_date < stored:
        raise InvalidInput(field, f"{percent}% is {to_date}, less than the {stored} stored")
    return LineEntry(to_date - to_money(past.work_completed) - stored, stored)


def _spread_over_billable(
    contract: Contract, history: Mapping[str, LineHistory], amount: Decimal, field: str
) -> dict[str, LineEntry]:
    remaining = [
        billable(line.scheduled_value, _past(history, line).completed_and_stored)
        for line in contract.lines
    ]
    total_billable = sum(remaining, ZERO)
    if not ZERO <= amount <= total_billable:
        raise InvalidInput(
            field, f"bills {amount} this period; between 0.00 and {total_billable} is billable"
        )
    shares = spread_pro_rata(amount, remaining)
    carried = _carried_over(contract, history)
    return {
        line_id: replace(entry, work_this_period=share)
        for (line_id, entry), share in zip(carried.items(), shares, strict=True)
    }


def _held(past: LineHistory) -> Decimal:
    """Retainage the line still holds on its work: held to date less released to date."""
    return max(ZERO, to_money(past.retainage_held_work) - to_money(past.retainage_released))
