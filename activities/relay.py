"""The worker's email relay: a step's emails go out right after its answer, not before it.

A step that a person waits for (a submit, a review, an accept) queues its emails in its own
transaction and hands them here as it returns; the relay sends them in the background, on the
worker's event loop, while the answer travels back. Nothing rests on the relay alone: the rows
are in the outbox, and the step's workflow keeps their ids. If the relay cannot send them (the
mail server is away, the worker dies), they are still pending when the workflow looks again,
`RELAY_GRACE_SECONDS` later, and its email activity sends them with retries; until then that
activity leaves a pending row to the relay, so an email is not sent twice.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from emails.delivery import QueuedEmail
from emails.outbox import OutboxStatus

# How long a relayed email is the relay's alone: its workflow looks at it this long after the
# hand-over. The relay gives up on the mail server after a few seconds
# (activities.billing.SEND_NOW_TIMEOUT_SECONDS), so any email handed over `RELAY_SETTLED` ago or
# more is looked at in the same go: the steps of a few minutes cost one look, not one each.
RELAY_GRACE_SECONDS = 30.0
RELAY_GRACE = timedelta(seconds=RELAY_GRACE_SECONDS)
RELAY_SETTLED = timedelta(seconds=10)

log = logging.getLogger("paydraw.relay")

DONE_KEPT = 10_000

Send = Callable[[Mapping[str, QueuedEmail]], Awaitable[list[str]]]


class Relay:
    """Sends handed-over emails in the background. Its tasks are kept by email id until they
    end (the event loop holds only weak references to them), so that the email activity, when
    it runs in this worker, can wait for the relay instead of leaving the emails to it."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.sending: dict[str, asyncio.Task[None]] = {}
        # The ids it is done with, most recent last (a few thousand are plenty: the email
        # activity asks soon after the hand-over).
        self.done: dict[str, None] = {}

    def hand_over(self, emails: Mapping[str, QueuedEmail]) -> list[str]:
        """Start sending; the ids, for the workflow to keep."""
        ids = list(emails)
        if ids:
            task = asyncio.get_running_loop().create_task(self.relay(dict(emails)))
            self.sending.update(dict.fromkeys(ids, task))
            task.add_done_callback(lambda _: self.forget(ids))
        return ids

    def forget(self, ids: list[str]) -> None:
        for outbox_id in ids:
            self.sending.pop(outbox_id, None)
            self.done[outbox_id] = None
        while len(self.done) > DONE_KEPT:
            del self.done[next(iter(self.done))]

    async def relay(self, emails: Mapping[str, QueuedEmail]) -> None:
        try:
            left = await self.send(emails)
        except Exception:  # the workflow sends them after the grace
            log.exception("relaying emails %s failed", list(emails))
            return
        if left:
            log.info("emails %s left to their workflow", left)

    async def settled(self, ids: list[str]) -> list[str]:
        """Once this worker's relay is done with any of these emails: the ones it may still be
        sending from another worker (not handed to this one, or too long ago to remember)."""
        tasks = {self.sending[outbox_id] for outbox_id in ids if outbox_id in self.sending}
        if tasks:
            await asyncio.wait([asyncio.shield(task) for task in tasks])
        return [outbox_id for outbox_id in ids if outbox_id not in self.done]


def still_relayed(
    emails: Mapping[str, QueuedEmail], elsewhere: list[str], now: datetime
) -> list[str]:
    """Of the emails a relay elsewhere may have, the pending ones it may still be sending."""
    return [
        outbox_id
        for outbox_id in elsewhere
        if emails[outbox_id].status == OutboxStatus.PENDING
        and now - emails[outbox_id].queued_at < RELAY_GRACE
    ]
