"""Send one email over SMTP and say whether a failure is worth retrying.

A 4xx reply, a refused connection or a timeout is temporary: the same message may go through
later, so the caller retries. A 5xx reply is the server's final word for that message.
"""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import aiosmtplib

SMTP_TIMEOUT_SECONDS = 30.0


class TemporaryDeliveryError(Exception):
    """The server could not take the message now (4xx, down, or too slow); try again later."""


class PermanentDeliveryError(Exception):
    """The server refused the message for good (5xx); sending it again would fail the same way."""


class OutgoingEmail(Protocol):
    """What a message needs: an outbox row, or any object with the same fields."""

    @property
    def message_id(self) -> str: ...
    @property
    def to_address(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def text_body(self) -> str: ...
    @property
    def html_body(self) -> str: ...


async def send(email: OutgoingEmail, *, host: str, port: int, mail_from: str) -> None:
    """Send `email`; return only once the server has answered 250 for its recipient."""
    try:
        refused, _reply = await aiosmtplib.send(
            build_message(email, mail_from=mail_from),
            hostname=host,
            port=port,
            timeout=SMTP_TIMEOUT_SECONDS,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        refusals = [(each.recipient, each.code, each.message) for each in error.recipients]
        worst = max(code for _address, code, _message in refusals)
        raise by_reply_code(worst, describe(refusals)) from error
    except aiosmtplib.SMTPResponseException as error:
        raise by_reply_code(error.code, f"{error.code} {error.message}") from error
    except (aiosmtplib.SMTPException, OSError) as error:
        raise TemporaryDeliveryError(str(error) or type(error).__name__) from error
    if refused:
        # The other recipients already have the message: a retry would send it to them twice.
        raise PermanentDeliveryError(
            describe([(address, reply.code, reply.message) for address, reply in refused.items()])
        )


def build_message(email: OutgoingEmail, *, mail_from: str) -> EmailMessage:
    """A text/plain part with a text/html alternative, under the row's stable Message-ID."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = email.message_id
    # Tells vacation responders not to answer a machine (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text_body)
    message.add_alternative(email.html_body, subtype="html")
    return message


def by_reply_code(code: int, reply: str) -> TemporaryDeliveryError | PermanentDeliveryError:
    """5xx is the server's final word; anything below may succeed on a later try."""
    return PermanentDeliveryError(reply) if code >= 500 else TemporaryDeliveryError(reply)


def describe(refusals: list[tuple[str, int, str]]) -> str:
    """``bounce@example.com: 550 5.1.1 mailbox unavailable``, one per refused address."""
    return "; ".join(f"{address}: {code} {message}" for address, code, message in refusals)
