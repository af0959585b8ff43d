"""Retainage rules: a flat rate, or a sliding one ("10% until 50% complete, then 5%")."""

from dataclasses import dataclass
from decimal import Decimal

from paydraw.domain.errors import InvalidInput
from paydraw.domain.money import require_percent


@dataclass(frozen=True)
class RetainageStep:
    """Retain `percent` of new work until the commitment is `until_percent_complete` complete;
    None means "from then on" and belongs to the last step only."""

    percent: Decimal
    until_percent_complete: Decimal | None = None


@dataclass(frozen=True)
class RetainageRule:
    """The steps of a commitment's retainage rule, in order; a flat rule is one open-ended step."""

    steps: tuple[RetainageStep, ...]

    def __post_init__(self) -> None:
        if not self.steps:
            raise InvalidInput("retainage.steps", "a retainage rule needs at least one step")
        threshold = Decimal(0)
        for index, step in enumerate(self.steps):
            field = f"retainage.steps[{index}]"
            require_percent(step.percent, f"{field}.percent")
            is_last = index == len(self.steps) - 1
            threshold = _check_until(step.until_percent_complete, threshold, is_last, field)

    @classmethod
    def flat(cls, percent: Decimal) -> "RetainageRule":
        """The same rate for all work, however complete the commitment is."""
        return cls(steps=(RetainageStep(percent, None),))

    def rate_at(self, percent_complete: Decimal) -> Decimal:
        """The rate of the step the commitment is in at `percent_complete`."""
        return next(
            step.percent
            for step in self.steps
            if step.until_percent_complete is None or percent_complete < step.until_percent_complete
        )


def _check_until(until: Decimal | None, threshold: Decimal, is_last: bool, field: str) -> Decimal:
    """Every step but the last ends at a threshold above the one before, so `rate_at` always finds
    exactly one step; returns the threshold the next step must exceed."""
    field = f"{field}.until_percent_complete"
    if until is None:
        if not is_last:
            raise InvalidInput(field, "only the last step may run from then on (no until)")
        return threshold
    if is_last:
        raise InvalidInput(field, "the last step runs from then on; leave until empty")
    if not threshold < until <= 100:
        raise InvalidInput(field, f"{until} must be above {threshold} and at most 100")
    return until
