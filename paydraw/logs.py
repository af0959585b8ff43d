"""Log records as JSON lines, each with the request it belongs to.

Every process of Paydraw's (the API, the worker) writes one JSON object a line to standard error:
``time``, ``level``, ``logger``, ``message``, and what is known of the work under way:
``request_id`` (from the API's ``X-Request-ID``, carried into the workflow and its activities in
a Temporal header, see ``paydraw.tracing``), ``actor``, ``project_id``, ``pay_app_id``,
``workflow_id``, ``activity``; an exception adds ``error`` with its traceback.

No record carries a secret: the settings' secrets are SecretStr, API keys and contact tokens are
never put in a message, and `Redact` blanks anything that looks like one should a library's
message carry it (a bearer token, a signed link's token, a password field).
"""

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# What is known of the work under way in this task (asyncio copies it into the tasks it starts).
CONTEXT: ContextVar[dict[str, str]] = ContextVar("paydraw_log_context", default={})  # noqa: B039
FIELDS = ("request_id", "actor", "project_id", "pay_app_id", "workflow_id", "activity")

SECRETS = re.compile(
    r"(?i)(bearer\s+|token=|password[\"']?\s*[:=]\s*[\"']?|api[_-]?key[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"'&,;]+"
)


@contextmanager
def context(**known: str | None) -> Iterator[None]:
    """Add what is known (the request id, the actor...) to every record written in the block."""
    reset = CONTEXT.set(CONTEXT.get() | {name: value for name, value in known.items() if value})
    try:
        yield
    finally:
        CONTEXT.reset(reset)


def note(**known: str | None) -> None:
    """Add to what is known for the rest of the current request (its outer `context` block,
    in the API's request middleware, puts things back as they were when the request ends)."""
    CONTEXT.set(CONTEXT.get() | {name: value for name, value in known.items() if value})


def redact(text: str) -> str:
    return SECRETS.sub(lambda match: match.group(1) + "[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        known = CONTEXT.get() | temporal_fields(record)
        for name in FIELDS:
            value = getattr(record, name, None) or known.get(name)
            if value:
                entry[name] = str(value)
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def temporal_fields(record: logging.LogRecord) -> dict[str, str]:
    """What Temporal's loggers add of the workflow or the activity a record is about."""
    fields: dict[str, str] = {}
    for extra in ("temporal_workflow", "temporal_activity"):
        info = getattr(record, extra, None)
        if isinstance(info, dict):
            if info.get("workflow_id"):
                fields["workflow_id"] = str(info["workflow_id"])
            if info.get("activity_type"):
                fields["activity"] = str(info["activity_type"])
    return fields


def configure(level: int = logging.INFO) -> None:
    """JSON lines on standard error for the whole process, uvicorn's and Temporal's loggers too
    (uvicorn's access log is left out: the API writes its own line per request). Called again,
    it changes nothing."""
    root = logging.getLogger()
    if not any(isinstance(each.formatter, JsonFormatter) for each in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)  # beside any a host put there (a test's log capture, say)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "temporalio"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
