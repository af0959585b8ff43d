"""Domain errors. Each one carries the HTTP status the API answers with, so that mapping lives in
one place and the rules below never think about HTTP."""

from dataclasses import dataclass
from decimal import Decimal


class DomainError(Exception):
    """A rule of the domain refused the request."""

    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object does not exist, or the caller may not see it (a 404, never a 403 that leaks)."""

    http_status = 404


class PermissionDenied(DomainError):
    """The caller may see the object, but their role may not act on it."""

    http_status = 403


class InvalidTransition(DomainError):
    """The action is not allowed in the current state; the 409 body names the allowed actions."""

    http_status = 409

    def __init__(
        self,
        status: str,
        action: str,
        allowed_actions: list[str],
        subject: str = "a pay app",
        message: str | None = None,
    ) -> None:
        self.status = status
        self.action = action
        self.allowed_actions = allowed_actions
        self.subject = subject
        self.explanation = message
        allowed = ", ".join(allowed_actions) or "none"
        super().__init__(
            message or f"cannot {action} {subject} that is {status}; allowed: {allowed}"
        )

    def allowing(self, allowed_actions: list[str]) -> "InvalidTransition":
        """The same refusal, naming `allowed_actions`: what the state allows once facts the
        refuser did not see (payments, later pay apps) are counted."""
        return InvalidTransition(
            self.status, self.action, allowed_actions, self.subject, self.explanation
        )


class InvalidInput(DomainError):
    """The request itself is wrong; the 422 body names the field and why."""

    http_status = 422

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class OverBilledLine:
    """One SOV line billed beyond its scheduled value, and what was still billable on it."""

    line_id: str
    code: str
    billed_to_date: Decimal
    scheduled_value: Decimal
    billable: Decimal


class OverBillingError(InvalidInput):
    """Billing beyond the scheduled value; lists every over-billed line, not just the first."""

    def __init__(self, field: str, reason: str, lines: list[OverBilledLine]) -> None:
        super().__init__(field, reason)
        self.lines = lines


@dataclass(frozen=True)
class MissingWaiver:
    """A required lien waiver neither signed nor waived: its kind, the pay app it covers, and
    the amount it waives."""

    kind: str
    pay_app_id: str
    pay_app_number: int
    amount: Decimal


class LienWaiversMissing(InvalidTransition):
    """A step the project's required lien waivers hold back; the 409 names each one missing."""

    def __init__(
        self,
        status: str,
        action: str,
        allowed_actions: list[str],
        *,
        message: str,
        missing: list[MissingWaiver],
    ) -> None:
        super().__init__(status, action, allowed_actions, message=message)
        self.missing = missing

    def allowing(self, allowed_actions: list[str]) -> "LienWaiversMissing":
        """The same refusal, naming what the pay app allows besides the step held back."""
        return LienWaiversMissing(
            self.status,
            self.action,
            [action for action in allowed_actions if action != self.action],
            message=self.message,
            missing=self.missing,
        )
