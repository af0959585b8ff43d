"""Over-billing: billing a line beyond its scheduled value, refused or allowed with a reason."""

from collections.abc import Sequence
from decimal import Decimal

from paydraw.domain.contract import Contract, OverbillingPolicy
from paydraw.domain.errors import InvalidInput, OverBilledLine, OverBillingError
from paydraw.domain.g702 import Application, G703Line, billable
from paydraw.domain.money import require_within_largest


def check_overbilling(
    contract: Contract,
    app: Application,
    policy: OverbillingPolicy,
    override_reason: str | None,
) -> list[OverBilledLine]:
    """The lines of `app` billed beyond their scheduled value, for the caller to audit.

    With `block` any over-billing is an OverBillingError; with `warn` it is one too unless
    `override_reason` says why. C is taken from `contract`, not from `app`, so an application
    computed before a deduct change order is checked against the contract as it stands now.
    Checking every line covers the commitment as a whole: its contract sum to date is the sum of C.
    """
    found = {
        index: line
        for index, line in enumerate(app.lines)
        if _is_over_billed(contract, index, line)
    }
    if not found:
        return []
    over_billed = [_over_billed_line(contract, line) for line in found.values()]
    if policy is OverbillingPolicy.WARN and override_reason and override_reason.strip():
        return over_billed
    field = f"lines[{next(iter(found))}].work_this_period"
    raise OverBillingError(field, _reason(list(found.values()), over_billed, policy), over_billed)


def _is_over_billed(contract: Contract, index: int, line: G703Line) -> bool:
    if line.completed_and_stored < 0:
        raise InvalidInput(f"lines[{index}].work_this_period", "takes G below 0.00")
    # Over-billing allowed with a reason is still bounded, so no total outgrows its figures.
    require_within_largest(
        line.completed_and_stored, f"lines[{index}].work_this_period", f"line {line.code}'s G"
    )
    return line.completed_and_stored > contract.line(line.line_id).scheduled_value


def _over_billed_line(contract: Contract, line: G703Line) -> OverBilledLine:
    scheduled_value = contract.line(line.line_id).scheduled_value
    return OverBilledLine(
        line_id=line.line_id,
        code=line.code,
        billed_to_date=line.completed_and_stored,
        scheduled_value=scheduled_value,
        billable=billable(scheduled_value, _billed_before(line)),
    )


def _reason(
    lines: Sequence[G703Line], over_billed: Sequence[OverBilledLine], policy: OverbillingPolicy
) -> str:
    """Each line with what was still billable and what this application asks for on it."""
    reason = "; ".join(
        f"line {over.code}: billable {over.billable}, "
        f"asked {line.completed_and_stored - _billed_before(line)}"
        for line, over in zip(lines, over_billed, strict=True)
    )
    if policy is OverbillingPolicy.WARN:
        reason += "; billing over the scheduled value needs an override reason"
    return reason


def _billed_before(line: G703Line) -> Decimal:
    """G of the previous application: D plus the material that was stored then."""
    return line.from_previous + line.materials_stored_before
