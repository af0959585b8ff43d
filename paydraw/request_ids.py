"""A request's id and what is known of it, from the HTTP request into the workflow and its
activities, for the logs.

The API puts what its log records carry of the request it serves (``paydraw.logs.CONTEXT``: the
request id, the actor, the project, the pay app) in a Temporal header of every workflow it
starts, signals or updates; the worker reads it back when the workflow runs the start, the
signal or the update, hands it on to the activities that work starts, and they log with it. One
interceptor does both sides: the API's client and the worker use it. A header recorded by an
earlier version holds the request id alone, as a string, and still reads.
"""

from collections.abc import Mapping
from typing import Any

import temporalio.api.common.v1
import temporalio.client
import temporalio.converter
import temporalio.worker
from temporalio import workflow

from paydraw.logs import CONTEXT, context

HEADER = "paydraw-request-id"
CARRIED = ("request_id", "actor", "project_id", "pay_app_id")

Headers = Mapping[str, temporalio.api.common.v1.Payload]


def with_request(headers: Headers, known: dict[str, str]) -> Headers:
    if not known:
        return headers
    payload = temporalio.converter.default().payload_converter.to_payloads([known])[0]
    return {**headers, HEADER: payload}


def request_of(headers: Headers) -> dict[str, str]:
    """What the header carries of the request; nothing without one."""
    payload = headers.get(HEADER)
    if payload is None:
        return {}
    value = temporalio.converter.default().payload_converter.from_payloads([payload])[0]
    if isinstance(value, str):  # an earlier version's header: the request id alone
        return {"request_id": value}
    if isinstance(value, dict):
        return {name: str(value[name]) for name in CARRIED if value.get(name)}
    return {}


def current() -> dict[str, str]:
    known = CONTEXT.get()
    return {name: known[name] for name in CARRIED if known.get(name)}


class RequestIds(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """For the API's client and for the worker: carry the request id across Temporal."""

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _ClientOutbound(next)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        return _WorkflowInbound


class _ClientOutbound(temporalio.client.OutboundInterceptor):
    async def start_workflow(self, input: temporalio.client.StartWorkflowInput) -> Any:
        input.headers = with_request(input.headers, current())
        return await super().start_workflow(input)

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        input.headers = with_request(input.headers, current())
        await super().signal_workflow(input)

    async def start_workflow_update(self, input: temporalio.client.StartWorkflowUpdateInput) -> Any:
        input.headers = with_request(input.headers, current())
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: temporalio.client.StartWorkflowUpdateWithStartInput
    ) -> Any:
        known = current()
        start, update = input.start_workflow_input, input.update_workflow_input
        start.headers = with_request(start.headers, known)
        update.headers = with_request(update.headers, known)
        return await super().start_update_with_start_workflow(input)


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        with context(**request_of(input.headers), activity=input.fn.__name__):
            return await super().execute_activity(input)


class _WorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
    def init(self, outbound: temporalio.worker.WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutbound(outbound))

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        with context(**request_of(input.headers)):
            return await super().execute_workflow(input)

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        with context(**request_of(input.headers)):
            await super().handle_signal(input)

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        with context(**request_of(input.headers)):
            super().handle_update_validator(input)

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        with context(**request_of(input.headers)):
            workflow.logger.info("update %s", input.update)
            return await super().handle_update_handler(input)


class _WorkflowOutbound(temporalio.worker.WorkflowOutboundInterceptor):
    def start_activity(
        self, input: temporalio.worker.StartActivityInput
    ) -> workflow.ActivityHandle[Any]:
        input.headers = with_request(input.headers, current())
        return super().start_activity(input)

    def start_local_activity(
        self, input: temporalio.worker.StartLocalActivityInput
    ) -> workflow.ActivityHandle[Any]:
        input.headers = with_request(input.headers, current())
        return super().start_local_activity(input)
