"""Activities retry an outage for as long as it lasts, and a bug only a few times.

Temporal retries a failed activity by its retry policy, which for Paydraw's state changes and
emails has no end: the database or the mail server may be away for hours, and nothing may be
lost meanwhile. A failure that is not an outage (a bug, a row no code expects) would then retry
silently forever and hold up whatever waits for it. This interceptor lets an outage retry as its
policy says, and turns any other failure, from its ``BUG_ATTEMPTS``-th attempt on, into a final
one: logged as an error with its traceback, and raised to the workflow, where it shows.
"""

import logging
import sqlite3
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from emails.sender import TemporaryDeliveryError

BUG_ATTEMPTS = 5
log = logging.getLogger("paydraw.activities")

# What a passing outage raises: the database away or busy, the mail server away or busy, the
# network, a time limit.
FINAL_OR_OUTAGE: tuple[type[BaseException], ...] = (
    ApplicationError,
    OperationalError,
    InterfaceError,
    sqlite3.OperationalError,
    TemporaryDeliveryError,
    OSError,
    TimeoutError,
)


class BoundedBugRetries(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Bounded(next)


class _Bounded(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except ApplicationError as error:
            if error.category == ApplicationErrorCategory.BENIGN:
                # A domain refusal (over-billing, a wrong state): one line, no traceback.
                log.info("%s refused: %s (%s)", activity.info().activity_type, error, error.type)
            raise  # a refusal is already final; an outage retries as its policy says
        except TemporaryDeliveryError as error:
            # The mail server away, busy, or refusing the login: one clear line; the emails stay
            # queued (paydraw_emails_retrying counts them) and the activity is tried again.
            info = activity.info()
            log.warning(
                "%s: the mail server did not take the emails (attempt %d), retrying: %s",
                info.activity_type,
                info.attempt,
                error,
            )
            raise ApplicationError(
                str(error), type="MailServerUnavailable", category=ApplicationErrorCategory.BENIGN
            ) from error
        except FINAL_OR_OUTAGE:
            raise
        except Exception as error:
            info = activity.info()
            if info.attempt < BUG_ATTEMPTS:
                raise
            log.exception(
                "activity %s of workflow %s failed %d times with a bug; giving up",
                info.activity_type,
                info.workflow_id,
                info.attempt,
            )
            raise ApplicationError(
                f"{info.activity_type} failed {info.attempt} times: {error!r}",
                type="Bug",
                non_retryable=True,
            ) from error
