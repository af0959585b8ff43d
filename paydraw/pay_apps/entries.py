"""Turn what a pay app request bills into the per-line entries the domain core computes with.

Stored material rolls over as the project says: with roll-over on, material stored before stays
on a line nobody changes; with it off, the previous F is not carried, so each application states
its stored material afresh (and what was stored before is billable again as work or material).
"""

from collections.abc import Mapping, Sequence
from dataclasses import replace

from paydraw.db.tables import Draw as DrawRow
from paydraw.domain import entry as modes
from paydraw.domain.contract import Contract, Draw
from paydraw.domain.g702 import LineEntry, LineHistory
from paydraw.domain.money import ZERO
from paydraw.pay_apps.schemas import (
    ContractAmount,
    ContractPercent,
    PerLineAmounts,
    PerLinePercent,
    ProgressEntry,
    RetainageRelease,
    SelectedDraws,
    SelectedLines,
)


def line_entries(
    contract: Contract,
    history: Mapping[str, LineHistory],
    entry: ProgressEntry | None,
    release: RetainageRelease | None,
    draws: Sequence[Draw],
) -> dict[str, LineEntry]:
    """Every SOV line's entry: the progress `entry` (or nothing new), plus the `release` spread
    over the retainage each line holds. `history` is already adjusted for roll-over."""
    if entry is None:
        progress = carried_over(contract, history)
    else:
        progress = _progress(contract, history, entry, draws)
    if release is None:
        return progress
    released = modes.retainage_release(contract, history, release.amount)
    return {
        line_id: replace(line_entry, retainage_release=released[line_id].retainage_release)
        for line_id, line_entry in progress.items()
    }


def rolled_over(history: Mapping[str, LineHistory], rollover: bool) -> dict[str, LineHistory]:
    """The history entry modes start from: without the previous F when roll-over is off."""
    if rollover:
        return dict(history)
    return {line_id: replace(past, materials_stored=ZERO) for line_id, past in history.items()}


def carried_over(contract: Contract, history: Mapping[str, LineHistory]) -> dict[str, LineEntry]:
    """Nothing new on any line; stored material as `history` left it."""
    return {
        line.id: LineEntry(materials_stored=history.get(line.id, LineHistory()).materials_stored)
        for line in contract.lines
    }


def domain_draws(rows: Sequence[DrawRow], pay_app_id: str | None) -> list[Draw]:
    """The commitment's draws; one billed by `pay_app_id` itself is free for it to bill again."""
    return [
        Draw(
            id=row.id,
            name=row.name,
            amount=row.amount,
            billed=row.billed_by_pay_app_id not in (None, pay_app_id),
        )
        for row in rows
    ]


def _progress(
    contract: Contract,
    history: Mapping[str, LineHistory],
    entry: ProgressEntry,
    draws: Sequence[Draw],
) -> dict[str, LineEntry]:
    match entry:
        case PerLineAmounts():
            return _per_line_amounts(contract, history, entry)
        case PerLinePercent():
            percents = {line.sov_line_id: line.percent_complete for line in entry.lines}
            return modes.per_line_percent_complete(contract, history, percents)
        case ContractPercent():
            return modes.whole_contract_percent(contract, history, entry.percent)
        case ContractAmount():
            return modes.whole_contract_amount(contract, history, entry.amount)
        case SelectedDraws():
            return modes.selected_draws(contract, history, draws, entry.draw_ids)
        case SelectedLines():
            return modes.selected_lines(contract, history, entry.sov_line_ids)


def _per_line_amounts(
    contract: Contract, history: Mapping[str, LineHistory], entry: PerLineAmounts
) -> dict[str, LineEntry]:
    """Typed lines as typed; a line typed without F, and every line not typed, keep the stored
    material `history` carries."""
    for line in entry.lines:
        contract.line(line.sov_line_id)  # a line of another commitment is a wrong request
    carried = carried_over(contract, history)
    amounts = {
        line.sov_line_id: (
            line.work_this_period,
            carried[line.sov_line_id].materials_stored
            if line.materials_stored is None
            else line.materials_stored,
        )
        for line in entry.lines
    }
    return carried | modes.per_line_amounts(contract, amounts)
