"""The Temporal client that the API, the worker and the command line connect with: one place
that says which server and namespace, and that messages cross as Pydantic models."""

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from paydraw.request_ids import RequestIds
from paydraw.settings import Settings
from paydraw.tracing import temporal_interceptors


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client of the settings' server; ``runtime`` carries the worker's metrics exporter.
    Requests carry their id in a Temporal header, and a worker on this client reads it back
    (``paydraw.request_ids``)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        interceptors=[RequestIds(), *temporal_interceptors(settings)],
    )
