"""The commitment as billing sees it: schedule of values, approved change orders, retainage."""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from paydraw.domain.errors import InvalidInput
from paydraw.domain.money import ZERO, require_percent, to_money
from paydraw.domain.retainage import RetainageRule


@dataclass(frozen=True)
class SovLine:
    """One line of the schedule of values."""

    id: str
    code: str
    description: str
    original_value: Decimal
    """Scheduled value at contract signing; 0 for a line added by change order."""
    change_orders: Decimal = ZERO
    """Sum of the approved change orders on this line; a deduct makes it negative."""
    retainage_percent: Decimal | None = None
    """This line's own retainage rate, over the commitment's rule."""

    @property
    def scheduled_value(self) -> Decimal:
        """Column C: the original value plus approved change orders."""
        return to_money(self.original_value) + to_money(self.change_orders)


class OverbillingPolicy(StrEnum):
    BLOCK = "block"
    WARN = "warn"
    """Allowed only with an explicit override reason, which is audited."""


@dataclass(frozen=True)
class Contract:
    """A commitment's SOV lines (in SOV order) and the rates its retainage is held at."""

    lines: tuple[SovLine, ...]
    retainage: RetainageRule
    stored_materials_retainage_percent: Decimal | None = None
    """Rate on materials presently stored; None = the same rate as the line's work."""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for index, line in enumerate(self.lines):
            if line.id in seen:
                raise InvalidInput(f"lines[{index}].id", f"SOV line {line.id} appears twice")
            seen.add(line.id)
            _check_line(index, line)
        if self.stored_materials_retainage_percent is not None:
            field = "stored_materials_retainage_percent"
            require_percent(self.stored_materials_retainage_percent, field)

    @property
    def original_sum(self) -> Decimal:
        """G702 line 1."""
        return sum((to_money(line.original_value) for line in self.lines), ZERO)

    @property
    def change_orders_sum(self) -> Decimal:
        """G702 line 2: net change by approved change orders."""
        return sum((to_money(line.change_orders) for line in self.lines), ZERO)

    @property
    def contract_sum_to_date(self) -> Decimal:
        """G702 line 3, which is also the sum of every line's scheduled value."""
        return self.original_sum + self.change_orders_sum

    def line(self, line_id: str) -> SovLine:
        """The SOV line with `line_id`; an id from outside this commitment is a wrong request."""
        for line in self.lines:
            if line.id == line_id:
                return line
        raise InvalidInput("lines", f"unknown SOV line {line_id}")


def _check_line(index: int, line: SovLine) -> None:
    """A deduct change order may take a line down to zero, never below: C cannot be negative."""
    field = f"lines[{index}]"
    if line.original_value < 0:
        raise InvalidInput(f"{field}.original_value", "cannot be negative")
    if line.scheduled_value < 0:
        raise InvalidInput(f"{field}.change_orders", f"deducts take line {line.code} below 0.00")
    if line.retainage_percent is not None:
        require_percent(line.retainage_percent, f"{field}.retainage_percent")


@dataclass(frozen=True)
class Draw:
    """A named draw with a preset amount ("Draw 3 of 4 - Framing complete")."""

    id: str
    name: str
    amount: Decimal
    billed: bool = False
