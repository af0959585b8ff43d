"""Domain refusals across Temporal: an update validator (or an activity) raises an
``ApplicationError`` that carries the domain error, and the API turns it back into the same domain
error, so a refused workflow update answers exactly like a refused database action (409 with the
allowed actions, 422 with the field, over-billing with its lines)."""

from decimal import Decimal
from typing import Any

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from paydraw.domain.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    LienWaiversMissing,
    MissingWaiver,
    NotFound,
    OverBilledLine,
    OverBillingError,
    PermissionDenied,
)

MONEY_FIELDS = ("billed_to_date", "scheduled_value", "billable")


def details_of(error: DomainError) -> dict[str, Any]:
    details: dict[str, Any] = {"message": error.message}
    if isinstance(error, LienWaiversMissing):
        return details | {
            "kind": "LienWaiversMissing",
            "status": error.status,
            "action": error.action,
            "allowed_actions": error.allowed_actions,
            "missing": [
                {
                    "kind": waiver.kind,
                    "pay_app_id": waiver.pay_app_id,
                    "pay_app_number": waiver.pay_app_number,
                    "amount": str(waiver.amount),
                }
                for waiver in error.missing
            ],
        }
    if isinstance(error, InvalidTransition):
        return details | {
            "kind": "InvalidTransition",
            "status": error.status,
            "action": error.action,
            "allowed_actions": error.allowed_actions,
        }
    if isinstance(error, OverBillingError):
        lines = [
            {"line_id": line.line_id, "code": line.code}
            | {name: str(getattr(line, name)) for name in MONEY_FIELDS}
            for line in error.lines
        ]
        return details | {
            "kind": "OverBillingError",
            "field": error.field,
            "reason": error.reason,
            "lines": lines,
        }
    if isinstance(error, InvalidInput):
        return details | {"kind": "InvalidInput", "field": error.field, "reason": error.reason}
    if isinstance(error, PermissionDenied):
        return details | {"kind": "PermissionDenied"}
    return details | {"kind": "NotFound"}


def rejection(error: DomainError) -> ApplicationError:
    details = details_of(error)
    # Benign: a refusal is the answer, not a failure; the SDK does not log it as one (the
    # worker's interceptor writes one info line instead, activities.bounded).
    return ApplicationError(
        error.message,
        details,
        type=details["kind"],
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )


def domain_error_from(failure: ApplicationError) -> DomainError | None:
    """The domain error a workflow refused with, or None for any other failure."""
    details = failure.details[0] if failure.details else None
    if not isinstance(details, dict):
        return None
    match details.get("kind"):
        case "LienWaiversMissing":
            return LienWaiversMissing(
                details["status"],
                details["action"],
                details["allowed_actions"],
                message=details["message"],
                missing=[
                    MissingWaiver(
                        kind=waiver["kind"],
                        pay_app_id=waiver["pay_app_id"],
                        pay_app_number=waiver["pay_app_number"],
                        amount=Decimal(waiver["amount"]),
                    )
                    for waiver in details["missing"]
                ],
            )
        case "InvalidTransition":
            return InvalidTransition(
                details["status"],
                details["action"],
                details["allowed_actions"],
                message=details["message"],
            )
        case "OverBillingError":
            lines = [
                OverBilledLine(
                    line_id=line["line_id"],
                    code=line["code"],
                    **{name: Decimal(line[name]) for name in MONEY_FIELDS},
                )
                for line in details["lines"]
            ]
            return OverBillingError(details["field"], details["reason"], lines)
        case "InvalidInput":
            return InvalidInput(details["field"], details["reason"])
        case "PermissionDenied":
            return PermissionDenied(details["message"])
        case "NotFound":
            return NotFound(details["message"])
    return None
