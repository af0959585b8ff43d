"""One place that turns domain errors and bad requests into the HTTP error model.

Every error body has ``error`` (a short code) and ``message``; 422s add ``errors``, a list of
``{field, reason}``; 409s add the current ``status`` and the ``allowed_actions``.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from paydraw.domain.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OverBillingError,
    PermissionDenied,
)

CODES: dict[type[DomainError], str] = {
    NotFound: "not_found",
    PermissionDenied: "forbidden",
    InvalidTransition: "invalid_state",
    OverBillingError: "over_billing",
    InvalidInput: "invalid_input",
}


def field_path(location: tuple[int | str, ...]) -> str:
    """``("body", "sov_lines", 2, "scheduled_value")`` → ``sov_lines[2].scheduled_value``."""
    path = ""
    for part in location[1:] if location and location[0] == "body" else location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def error_body(error: DomainError) -> dict[str, Any]:
    code = next((code for kind, code in CODES.items() if isinstance(error, kind)), "error")
    body: dict[str, Any] = {"error": code, "message": str(error)}
    if isinstance(error, InvalidInput):
        body["errors"] = [{"field": error.field, "reason": error.reason}]
    if isinstance(error, OverBillingError):
        body["over_billed_lines"] = [
            {
                "line_id": line.line_id,
                "code": line.code,
                "billed_to_date": f"{line.billed_to_date:.2f}",
                "scheduled_value": f"{line.scheduled_value:.2f}",
                "billable": f"{line.billable:.2f}",
            }
            for line in error.lines
        ]
    if isinstance(error, InvalidTransition):
        body["status"] = error.status
        body["allowed_actions"] = error.allowed_actions
    return body


async def domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return JSONResponse(error_body(error), status_code=error.http_status)


async def validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"field": field_path(tuple(item["loc"])), "reason": item["msg"]} for item in error.errors()
    ]
    message = "; ".join(f"{item['field']}: {item['reason']}" for item in errors)
    return JSONResponse(
        {"error": "invalid_input", "message": message, "errors": errors}, status_code=422
    )


async def http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    codes = {
        401: "unauthorized",
        404: "not_found",
        405: "method_not_allowed",
        503: "busy",
        504: "still_running",
    }
    return JSONResponse(
        {"error": codes.get(error.status_code, "error"), "message": str(error.detail)},
        status_code=error.status_code,
        headers=getattr(error, "headers", None),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
