"""Each HTTP request gets an id and one log line.

The id is the caller's ``X-Request-ID`` when it sends a sensible one (a load balancer's, an
integrator's), else a new one; it is sent back in the answer's ``X-Request-ID`` and is in every
log record written while the request is served, in the API and, through a Temporal header, in the
workflow update and the activities that carry the request out (``paydraw.request_ids``).
"""

import logging
import re
import time
import uuid

from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import route_template
from paydraw.logs import context
from paydraw.tracing import tracer

HEADER = b"x-request-id"
SENSIBLE = re.compile(r"[A-Za-z0-9._:-]{1,100}")

log = logging.getLogger("paydraw.http")


def request_id_of(scope: Scope) -> str:
    sent = dict(scope.get("headers", [])).get(HEADER, b"").decode("latin-1")
    return sent if SENSIBLE.fullmatch(sent) else uuid.uuid4().hex


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        with (
            context(request_id=request_id),
            tracer.start_as_current_span(scope["method"], kind=SpanKind.SERVER) as span,
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = route_template(scope)
                log.info(
                    "%s %s %d in %.0f ms",
                    scope["method"],
                    route,
                    status,
                    (time.perf_counter() - started) * 1000,
                )
                span.update_name(f"{scope['method']} {route}")
                span.set_attributes(
                    {
                        "http.request.method": scope["method"],
                        "http.route": route,
                        "http.response.status_code": status,
                        "paydraw.request_id": request_id,
                    }
                )
