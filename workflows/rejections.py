"""Domain refusals across Temporal: an update validator raises an ``ApplicationError`` that carries
the domain error, and the API turns it back into the same domain error, so a refused workflow
update answers exactly like a refused database action (409 with allowed actions, 422 with field)."""

from typing import Any

from temporalio.exceptions import ApplicationError

from paydraw.domain.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)


def rejection(error: DomainError) -> ApplicationError:
    details: dict[str, Any] = {"kind": type(error).__name__, "message": error.message}
    if isinstance(error, InvalidTransition):
        details |= {
            "status": error.status,
            "action": error.action,
            "allowed_actions": error.allowed_actions,
        }
    if isinstance(error, InvalidInput):
        details |= {"field": error.field, "reason": error.reason}
    return ApplicationError(error.message, details, type=type(error).__name__, non_retryable=True)


def domain_error_from(failure: ApplicationError) -> DomainError | None:
    """The domain error a workflow refused with, or None for any other failure."""
    details = failure.details[0] if failure.details else None
    if not isinstance(details, dict):
        return None
    kind = details.get("kind")
    if kind == "InvalidTransition":
        return InvalidTransition(
            details["status"],
            details["action"],
            details["allowed_actions"],
            message=details["message"],
        )
    if kind == "InvalidInput":
        return InvalidInput(details["field"], details["reason"])
    if kind == "PermissionDenied":
        return PermissionDenied(details["message"])
    if kind == "NotFound":
        return NotFound(details["message"])
    return None
