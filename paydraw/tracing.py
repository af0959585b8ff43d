"""OpenTelemetry traces, exported only when an OTLP endpoint is configured.

With ``PAYDRAW_OTLP_ENDPOINT`` (an OTLP/HTTP collector, e.g. ``http://otel-collector:4318``) each
process sends its spans there under its own service name (``paydraw-api``, ``paydraw-worker``):
a span per HTTP request in the API, and Temporal's own interceptor
(``temporalio.contrib.opentelemetry``) adds the client's calls, the workflow's run, updates and
signals and each activity, carried across processes in Temporal headers, so one trace runs from
the HTTP request through the workflow update into the activity that applied it. Without an
endpoint nothing is set up, and the tracer is OpenTelemetry's no-op.
"""

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor

from paydraw.settings import Settings

tracer = trace.get_tracer("paydraw")
_configured: list[str] = []


def configure(settings: Settings, service: str) -> bool:
    """Export this process's spans when an endpoint is set; True if it is (once a process)."""
    if not settings.otlp_endpoint:
        return False
    if not _configured:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        trace.set_tracer_provider(provider)
        _configured.append(service)
    return True


def temporal_interceptors(settings: Settings) -> list[TracingInterceptor]:
    """Temporal's tracing interceptor when traces are exported, for the client and the worker."""
    return [TracingInterceptor()] if settings.otlp_endpoint else []
