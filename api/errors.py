"""One place that turns domain errors and bad requests into the HTTP error model.

Every error body has ``error`` (a short code) and ``message``; 422s add ``errors``, a list of
``{field, reason}``; 409s add the current ``status`` and the ``allowed_actions``. Nothing a
client sends gets anything else: a body that cannot be read is a 422 too, a database that is
busy (a held write lock, a lock timeout) is a 503 to retry, and an unforeseen failure is a 500 in
the same model, logged with its traceback.
"""

import logging
import re
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from paydraw.domain.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    LienWaiversMissing,
    NotFound,
    OverBillingError,
    PermissionDenied,
)


class FieldError(BaseModel):
    field: str = Field(description="Where in the request: `sov_lines[2].scheduled_value`.")
    reason: str


class OverBilledLine(BaseModel):
    line_id: str
    code: str
    billed_to_date: str
    scheduled_value: str
    billable: str


class MissingLienWaiver(BaseModel):
    kind: str
    pay_app_id: str
    pay_app_number: int
    amount: str


class ErrorBody(BaseModel):
    """Every error answer. ``errors`` comes with 422s, ``status`` and ``allowed_actions`` with
    409s, ``over_billed_lines`` with an over-billing refusal, ``missing_lien_waivers`` with a
    step held back by the lien waivers the project requires."""

    error: str = Field(description="A short code: `invalid_input`, `not_found`, `busy`, ...")
    message: str
    errors: list[FieldError] | None = None
    status: str | None = None
    allowed_actions: list[str] | None = None
    over_billed_lines: list[OverBilledLine] | None = None
    missing_lien_waivers: list[MissingLienWaiver] | None = None


def documented(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# What any operation of the API may answer besides its success, in the error model; FastAPI's
# own 422 body (`HTTPValidationError`) is never sent, so it is replaced here.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: documented("No credentials, or a key or token that is not valid (or has expired)."),
    403: documented("The caller's role on the project does not allow the action."),
    404: documented("No such object, or one the caller may not see."),
    409: documented("The object's state does not allow the action; `allowed_actions` does."),
    413: documented("The request body is larger than the limit."),
    422: documented("The request is not valid; `errors` names each field and the reason."),
    503: documented("The database or Temporal is busy or away; retry after `Retry-After`."),
    504: documented("Still running; resend with the same `Idempotency-Key` for the answer."),
}

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
    if isinstance(error, LienWaiversMissing):
        body["missing_lien_waivers"] = [
            {
                "kind": waiver.kind,
                "pay_app_id": waiver.pay_app_id,
                "pay_app_number": waiver.pay_app_number,
                "amount": f"{waiver.amount:.2f}",
            }
            for waiver in error.missing
        ]
    return body


async def domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return JSONResponse(error_body(error), status_code=error.http_status)


log = logging.getLogger("paydraw.api")

# How the databases say "busy, try again": SQLite's held write lock, PostgreSQL's lock and
# statement timeouts, serialization failures and deadlocks (SQLSTATE 55P03, 57014, 40001, 40P01).
BUSY_SIGNS = ("database is locked", "55P03", "57014", "40001", "40P01", "lock timeout")


# A rule over several fields (a model validator) names the field it is about first:
# ``ValueError("end_date: must not be before start_date")``.
NAMED_FIELD = re.compile(r"Value error, (?P<field>[A-Za-z_][\w.\[\]]*): (?P<reason>.+)", re.S)


def field_error(item: Any) -> dict[str, str]:
    """One of pydantic's errors as ``{field, reason}``, the field as a client would name it."""
    path = field_path(tuple(item["loc"]))
    named = NAMED_FIELD.fullmatch(item["msg"])
    if named is None:
        return {"field": path, "reason": item["msg"]}
    field = named["field"] if path == "body" else f"{path}.{named['field']}"
    return {"field": field, "reason": named["reason"]}


async def validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError | ValidationError)
    return invalid_input([field_error(item) for item in error.errors()])


def invalid_input(errors: list[dict[str, str]]) -> JSONResponse:
    message = "; ".join(f"{item['field']}: {item['reason']}" for item in errors)
    return JSONResponse(
        {"error": "invalid_input", "message": message, "errors": errors}, status_code=422
    )


def is_busy(error: Exception) -> bool:
    cause = error.orig if isinstance(error, OperationalError) else error
    code = getattr(cause, "sqlstate", None) or ""
    return any(sign in str(cause) or sign == code for sign in BUSY_SIGNS)


async def database_error(request: Request, error: Exception) -> JSONResponse:
    """A database that is busy or away answers 503 with Retry-After; the request changed
    nothing (its transaction was rolled back) and can be sent again. SQLite's lock wait raises
    the driver's own error, which SQLAlchemy does not wrap."""
    assert isinstance(error, OperationalError | sqlite3.OperationalError)
    if is_busy(error):
        message = "the database is busy; try again shortly"
    else:
        log.error("database unavailable for %s %s", request.method, request.url.path)
        message = "the database is unavailable; try again shortly"
    return JSONResponse(
        {"error": "busy", "message": message}, status_code=503, headers={"Retry-After": "5"}
    )


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error for %s %s", request.method, request.url.path, exc_info=error)
    return JSONResponse(
        {"error": "internal", "message": "something went wrong on our side; it has been logged"},
        status_code=500,
    )


async def http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 400:  # FastAPI could not read the body (not JSON, not UTF-8)
        return invalid_input([{"field": "body", "reason": "could not be read as JSON"}])
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
    app.add_exception_handler(ValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(OperationalError, database_error)
    app.add_exception_handler(sqlite3.OperationalError, database_error)
    app.add_exception_handler(Exception, unexpected_error)
