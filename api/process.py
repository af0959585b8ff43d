"""The API's side of the Temporal process: the client, and workflow updates as HTTP answers.

A refused update comes back as the same domain error a database rule would raise, so the error
model of every endpoint is one and the same.
"""

import asyncio
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, HTTPException, Request
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from paydraw.domain.errors import InvalidTransition, NotFound
from paydraw.temporal_client import connect
from workflows.rejections import domain_error_from

T = TypeVar("T")

_connect_lock = asyncio.Lock()


async def get_temporal(request: Request) -> Client:
    """The app's Temporal client, connected on first use."""
    client: Client | None = request.app.state.temporal
    if client is not None:
        return client
    async with _connect_lock:
        if request.app.state.temporal is None:
            try:
                request.app.state.temporal = await connect(request.app.state.settings)
            except RuntimeError as error:
                raise HTTPException(503, "the billing process service is unavailable") from error
    connected: Client = request.app.state.temporal
    return connected


async def update_id(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(description="Send a request again with the same key to get its first answer."),
    ] = None,
) -> str:
    """The workflow update id: derived from the caller, the request and its Idempotency-Key
    (see api.idempotency), so a resend reattaches to the same update; without a key, a new one."""
    derived: str | None = getattr(request.state, "update_id", None)
    return derived or str(uuid.uuid4())


UpdateId = Annotated[str, Depends(update_id)]


# The server answers UNAVAILABLE when it aborted an update that was waiting (the workflow's state
# was reloaded, as happens under load), and RESOURCE_EXHAUSTED when too many updates are in flight
# on one workflow. Neither applied the update, so it is sent again, under the same update id, after
# a jittered back-off; past the budget the caller gets a 503 to retry later.
RETRIED = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.RESOURCE_EXHAUSTED})
RETRY_BUDGET_SECONDS = 20.0
FIRST_RETRY_DELAY = 0.05
MAX_RETRY_DELAY = 2.0
# An update whose activity cannot finish yet (the database away, say) would keep the caller
# waiting without end. After this long the caller gets a 504; the update goes on, and a retry
# with the same Idempotency-Key (the update id) waits for that same update's answer.
ANSWER_WAIT_SECONDS = 60.0


class BillingEnded(InvalidTransition):
    """The workflow asked to act has ended: nothing it ran can change any more."""

    def __init__(self) -> None:
        super().__init__(
            "closed",
            "act on",
            [],
            message="the billing of this commitment in that period has ended",
        )


async def workflow_update(call: Callable[[], Awaitable[T]], missing: str) -> T:
    """Send a workflow update; a refusal becomes its domain error, a missing workflow a 404."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    give_up_at = started + RETRY_BUDGET_SECONDS
    delay = FIRST_RETRY_DELAY
    while True:
        try:
            return await answer_within(call, started + ANSWER_WAIT_SECONDS - loop.time())
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            error = domain_error_from(cause) if isinstance(cause, ApplicationError) else None
            if error is None:
                raise
            raise error from None
        except RPCError as failure:
            if "already completed" in failure.message:
                raise BillingEnded() from None
            if failure.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(missing) from None
            if failure.status not in RETRIED:
                raise
            if loop.time() + delay > give_up_at:
                raise HTTPException(
                    503,
                    "the billing process is busy with this commitment; try again shortly",
                    headers={"Retry-After": "5"},
                ) from failure
        await asyncio.sleep(random.uniform(delay / 2, delay))
        delay = min(delay * 2, MAX_RETRY_DELAY)


async def earlier_answer(
    handle: WorkflowHandle[Any, Any], update_id: str, result_type: type[T]
) -> T | None:
    """The answer of the update sent before under ``update_id``, waiting for it if it still runs;
    None when none was.

    A resend of a request whose answer the caller missed (a 504, a dropped connection, an API
    process that died) comes here before the database's checks, which would otherwise refuse it
    for what the first request did ("already invited"), and gets the first request's answer."""
    poll = handle.get_update_handle(update_id, result_type=result_type)
    try:
        return await workflow_update(poll.result, "no such update")
    except NotFound:
        return None


async def answer_within(call: Callable[[], Awaitable[T]], seconds: float) -> T:
    """The update's answer, or a 504 once ``seconds`` have passed (the update itself goes on)."""
    waiting = asyncio.ensure_future(call())
    done, _ = await asyncio.wait({waiting}, timeout=max(seconds, 0.0))
    if not done:
        waiting.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await waiting
        raise HTTPException(
            504,
            "the billing process has not finished this action yet; send it again with the same "
            "Idempotency-Key for its answer",
            headers={"Retry-After": "10"},
        )
    return waiting.result()
