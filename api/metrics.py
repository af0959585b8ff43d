"""Prometheus metrics of the API: requests by route template, method and status with their
latency, and the business figures read from the database at each scrape (``/metrics``)."""

import time
from collections.abc import Iterator

import anyio
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paydraw.db.engine import read_scope
from paydraw.operations.figures import Figures, read_figures

router = APIRouter(tags=["operations"])

# Latency buckets from a lookup (milliseconds) to an action that waits for its workflow.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ApiMetrics:
    """The API's series, in a registry of the app's own."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "paydraw_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "paydraw_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.registry.register(BusinessCollector(engine))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)


class MetricsMiddleware:
    """Times every HTTP request and counts it under its route template (``/api/v1/pay-apps/
    {pay_app_id}``, never the ids themselves), or ``unmatched``."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(route_template(scope), scope["method"], status, elapsed)


def route_template(scope: Scope) -> str:
    """The path template of the route that answered; a request answered before routing (a
    repeat replayed from its Idempotency-Key, say) is matched here."""
    route = scope.get("route")
    if route is None and "app" in scope:
        route = next(
            (r for r in scope["app"].router.routes if r.matches(scope)[0] == Match.FULL), None
        )
    return str(getattr(route, "path", "unmatched"))


class BusinessCollector(Collector):
    """Gauges of the record, read when Prometheus scrapes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with read_scope(self.engine) as session:
            figures = read_figures(session)
        yield from business_metrics(figures)


def business_metrics(figures: Figures) -> Iterator[Metric]:
    invitations = GaugeMetricFamily(
        "paydraw_invitations", "Invitations to bill, by status.", labels=["status"]
    )
    for status, count in sorted(figures.invitations.items()):
        invitations.add_metric([status], count)
    yield invitations
    emails = GaugeMetricFamily(
        "paydraw_emails",
        "Emails in the outbox by kind and status: pending (queued), sent, failed.",
        labels=["kind", "status"],
    )
    for (kind, status), count in sorted(figures.emails.items()):
        emails.add_metric([kind, status], count)
    yield emails
    yield GaugeMetricFamily(
        "paydraw_emails_retrying",
        "Emails still queued after at least one failed attempt.",
        value=figures.emails_retrying,
    )
    yield GaugeMetricFamily(
        "paydraw_email_oldest_queued_seconds",
        "How long the oldest email still queued has waited; 0 when none waits.",
        value=figures.oldest_queued_email_seconds,
    )
    pay_apps = GaugeMetricFamily("paydraw_pay_apps", "Pay apps by status.", labels=["status"])
    for status, count in sorted(figures.pay_apps.items()):
        pay_apps.add_metric([status], count)
    yield pay_apps


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The API's metrics in Prometheus' text format."""
    api_metrics: ApiMetrics = request.app.state.metrics
    body = await anyio.to_thread.run_sync(generate_latest, api_metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
