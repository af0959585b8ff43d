"""Send emails over SMTP, several on one connection, and say whether a failure is worth retrying.

A 4xx reply, a refused connection or a timeout is temporary: the same message may go through
later, so the caller retries. A 5xx reply is the server's final word for that message, and so
is a message that cannot be sent at all: one that cannot be built, or an address with letters
outside ASCII before the @ to a server that does not offer SMTPUTF8 (RFC 6531). A domain outside
ASCII goes as its IDNA form and needs nothing of the server.

A connection that ends well is kept open for the next sender for a while (`IdleConnections`):
opening one (TCP, the greeting, EHLO, TLS, AUTH) and closing it (QUIT) costs both sides more
than the message does.

The mail server is a relay as production has one (`MailServer`): STARTTLS on the submission port
or TLS from the start, a user name and a password. With TLS asked for, nothing is sent in clear:
a relay that offers no STARTTLS, or a certificate the worker does not trust, is a failure. So is
a refused login, and a temporary one: it is the operator's to fix, and the emails wait queued
until then instead of failing one by one.
"""

import asyncio
import binascii
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from enum import StrEnum
from typing import Any, Protocol

import aiosmtplib

from paydraw.settings import Settings

SMTP_TIMEOUT_SECONDS = 30.0
# Idle connections kept per server, and for how long; mail servers wait five minutes or more
# before they drop an idle client (RFC 5321, 4.5.3.2.7).
IDLE_CONNECTIONS = 8
IDLE_SECONDS = 30.0

# Bodies in UTF-8, quoted-printable: readable as sent, and no line longer than SMTP allows.
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP


class SmtpSecurity(StrEnum):
    NONE = "none"  # plain SMTP: a local catcher, or a relay on a private network
    STARTTLS = "starttls"  # upgraded to TLS before anything else (the submission port, 587)
    TLS = "tls"  # TLS from the first byte (port 465)


@dataclass(frozen=True)
class MailServer:
    """Where the emails go, and how to sign in; the password is never shown in a repr."""

    host: str
    port: int
    security: SmtpSecurity = SmtpSecurity.NONE
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""  # certificates to trust besides the system's, for a relay of one's own
    timeout: float = SMTP_TIMEOUT_SECONDS

    @classmethod
    def of(cls, settings: Settings) -> "MailServer":
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=SmtpSecurity(settings.smtp_security),
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            ca_file=settings.smtp_ca_file,
            timeout=settings.smtp_timeout_seconds,
        )

    def client(self, timeout: float) -> aiosmtplib.SMTP:
        """A client for this server, not yet connected; connecting it does TLS and AUTH."""
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=timeout,
            use_tls=self.security == SmtpSecurity.TLS,
            start_tls=self.security == SmtpSecurity.STARTTLS,
            username=self.username or None,
            password=self.password or None,
            cert_bundle=self.ca_file or None,
        )


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


async def send(email: OutgoingEmail, *, server: MailServer, mail_from: str) -> None:
    """Send `email` on a connection of its own; return once the server has answered 250."""
    async with SmtpConnection(server=server, mail_from=mail_from) as smtp:
        await smtp.send(email)


class IdleConnections:
    """Connections that ended their last send well, for the next sender to the same server.
    Kept per event loop, since a connection belongs to the loop that opened it."""

    def __init__(self) -> None:
        self.by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[MailServer, list[tuple[aiosmtplib.SMTP, float]]]
        ] = weakref.WeakKeyDictionary()

    def take(self, server: MailServer) -> aiosmtplib.SMTP | None:
        loop = asyncio.get_running_loop()
        idle = self.by_loop.get(loop, {}).get(server, [])
        while idle:
            smtp, since = idle.pop()
            if smtp.is_connected and loop.time() - since < IDLE_SECONDS:
                return smtp
            smtp.close()
        return None

    def drop(self, server: MailServer) -> None:
        for smtp, _since in self.by_loop.get(asyncio.get_running_loop(), {}).pop(server, []):
            smtp.close()

    def keep(self, server: MailServer, smtp: aiosmtplib.SMTP) -> bool:
        """False when enough are kept already: then the caller says QUIT."""
        loop = asyncio.get_running_loop()
        for closed in [each for each in self.by_loop if each.is_closed()]:
            del self.by_loop[closed]
        idle = self.by_loop.setdefault(loop, {}).setdefault(server, [])
        if len(idle) >= IDLE_CONNECTIONS:
            return False
        idle.append((smtp, loop.time()))
        return True


idle_connections = IdleConnections()


class SmtpConnection:
    """One SMTP connection for several messages: an idle one, or a new one, at the first send."""

    def __init__(self, *, server: MailServer, mail_from: str, timeout: float | None = None) -> None:
        self.server = server
        self.mail_from = mail_from
        self.timeout = server.timeout if timeout is None else timeout
        self.smtp: aiosmtplib.SMTP | None = None
        self.reused = False  # taken from the idle ones, and not yet used for a message
        self.lost = False
        self.failed = False  # something went wrong on it: not one to keep

    async def __aenter__(self) -> "SmtpConnection":
        return self

    async def __aexit__(self, error_type: type[BaseException] | None, *_exc: object) -> None:
        if error_type is None:
            await self.close()
        else:
            # Cut short (a time limit, a cancel): no QUIT, whose answer could be long in coming.
            self.abandon()

    @property
    def usable(self) -> bool:
        """False once the connection was refused, dropped or timed out: the server is away, so
        the messages still waiting had better wait for a later try."""
        return not self.lost and (self.smtp is None or self.smtp.is_connected)

    async def send(self, email: OutgoingEmail) -> None:
        """Send `email`; return only once the server has answered 250 for its recipient."""
        try:
            addresses = getaddresses([email.to_address])
            recipients = [smtp_address(address) for _name, address in addresses]
            international = not all(address.isascii() for address in recipients)
            message = build_message(email, mail_from=self.mail_from, international=international)
        except Exception as error:  # a message that cannot be built will never be sent
            raise PermanentDeliveryError(f"the message could not be built: {error!r}") from error
        try:
            try:
                refused = await self.sendmail(recipients, message, international)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                if not self.reused:
                    raise
                # An idle connection the server has dropped meanwhile, as it may have dropped
                # the other idle ones: once more, on a new connection.
                self.abandon()
                idle_connections.drop(self.server)
                refused = await self.sendmail(recipients, message, international)
        except BaseException:
            self.failed = True
            raise
        if refused:
            self.failed = True
            # The other recipients already have the message: a retry would send it to them twice.
            raise PermanentDeliveryError(
                describe(
                    [(address, reply.code, reply.message) for address, reply in refused.items()]
                )
            )

    async def sendmail(
        self, recipients: list[str], message: bytes, international: bool = False
    ) -> dict[str, Any]:
        """The SMTP exchange for one message; the refused recipients, if some were accepted."""
        try:
            smtp = await self.connected()
            options = []
            if international:
                if not smtp.supports_extension("smtputf8"):
                    raise PermanentDeliveryError(
                        f"{', '.join(recipients)}: the mail server does not take addresses with "
                        "letters outside ASCII (it offers no SMTPUTF8)"
                    )
                options = ["SMTPUTF8"]
            sender = parseaddr(self.mail_from)[1]
            refused, _reply = await smtp.sendmail(sender, recipients, message, mail_options=options)
            self.reused = False
            return refused
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as error:
            if self.reused:
                raise
            self.lost = True
            raise TemporaryDeliveryError(str(error) or type(error).__name__) from error
        except aiosmtplib.SMTPAuthenticationError as error:
            # The relay's word on this worker's login, not on the message: kept for later.
            self.lost = True
            raise TemporaryDeliveryError(
                f"the mail relay refused the login of {self.server.username!r}: "
                f"{error.code} {error.message}"
            ) from error
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusals = [(each.recipient, each.code, each.message) for each in error.recipients]
            worst = max(code for _address, code, _message in refusals)
            raise by_reply_code(worst, describe(refusals)) from error
        except aiosmtplib.SMTPResponseException as error:
            raise by_reply_code(error.code, f"{error.code} {error.message}") from error
        except (aiosmtplib.SMTPException, OSError) as error:
            self.lost = True
            raise TemporaryDeliveryError(str(error) or type(error).__name__) from error

    async def connected(self) -> aiosmtplib.SMTP:
        if self.smtp is not None and self.smtp.is_connected:
            return self.smtp
        smtp = idle_connections.take(self.server)
        self.reused = smtp is not None
        if smtp is None:
            smtp = self.server.client(self.timeout)
            await smtp.connect()
        smtp.timeout = self.timeout
        self.smtp = smtp
        return smtp

    async def close(self) -> None:
        """Keep the connection for the next sender if all went well; else say QUIT."""
        smtp, self.smtp = self.smtp, None
        if smtp is None or not smtp.is_connected:
            return
        if not self.failed and idle_connections.keep(self.server, smtp):
            return
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()

    def abandon(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
        self.smtp = None


def build_message(email: OutgoingEmail, *, mail_from: str, international: bool = False) -> bytes:
    """A text/plain part with a text/html alternative, under the row's stable Message-ID; with
    `international`, headers in UTF-8 for an address outside ASCII (sent with SMTPUTF8).

    Every email Paydraw sends has the same shape: short ASCII headers and two UTF-8 bodies. That
    shape is written directly, the bodies quoted-printable encoded by ``binascii`` (in C); the
    standard library's generator, pure Python, cost a fifth of the worker's time under load. A
    subject outside ASCII or too long for one line is written as RFC 2047 encoded words. Anything
    else (an address outside ASCII, say) goes through the standard library's MIME classes,
    ``message_by_email_package``. Both read back the same.
    """
    headers = {
        "From": address_header(mail_from),
        "To": address_header(email.to_address),
        "Subject": subject_header(email.subject),
        "Date": format_datetime(datetime.now(UTC)),
        "Message-ID": email.message_id,
        # Tells vacation responders not to answer a machine (RFC 3834).
        "Auto-Submitted": "auto-generated",
    }
    if not all(fits_one_line(name, value) for name, value in headers.items()):
        return message_by_email_package(email, mail_from=mail_from, international=international)
    # "=_" never occurs in quoted-printable text ("=" is written =3D), so neither does this.
    boundary = f"=_paydraw_{uuid.uuid4().hex}"
    lines = [
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "MIME-Version: 1.0",
        *(f"{name}: {value}" for name, value in headers.items()),
        "",
    ]
    for subtype, body in (("plain", email.text_body), ("html", email.html_body)):
        lines += [
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "MIME-Version: 1.0",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            quoted_printable(body),
        ]
    lines += [f"--{boundary}--", ""]
    return "\n".join(lines).encode("ascii")


# A header line's length that every mail system takes unfolded (RFC 5322 section 2.1.1).
HEADER_LINE = 78


def fits_one_line(name: str, value: str) -> bool:
    if name == "Subject" and value.startswith("=?utf-8?b?"):
        return True  # encoded words, one to a line (subject_header)
    return (
        value.isascii()
        and len(name) + 2 + len(value) <= HEADER_LINE
        and "\n" not in value
        and "\r" not in value
    )


# An encoded word is at most 75 characters (RFC 2047 section 2): "=?utf-8?b?" and "?=" around
# at most 63 of base64, which is 45 bytes of UTF-8.
ENCODED_WORD_BYTES = 45


def subject_header(subject: str) -> str:
    """The subject as written, when it is ASCII and fits one line; else as base64 encoded words
    of whole characters, one to a line."""
    subject = " ".join(subject.splitlines())
    if fits_one_line("Subject", subject):
        return subject
    words, word = [], b""
    for character in subject:
        encoded = character.encode("utf-8")
        if len(word) + len(encoded) > ENCODED_WORD_BYTES:
            words.append(word)
            word = b""
        word += encoded
    words.append(word)
    return "\n ".join(
        f"=?utf-8?b?{binascii.b2a_base64(word, newline=False).decode('ascii')}?=" for word in words
    )


def quoted_printable(body: str) -> str:
    """``body`` in UTF-8, quoted-printable, its lines ending in \\n (aiosmtplib sends them as
    \\r\\n)."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")


def message_by_email_package(
    email: OutgoingEmail, *, mail_from: str, international: bool = False
) -> bytes:
    """The message built with the standard library's classic MIME classes: for the headers the
    direct writing of ``build_message`` leaves (outside ASCII, or folded over lines). The modern
    ``EmailMessage`` parses every header it is given again, three times the cost of these."""
    message = MIMEMultipart("alternative")
    message["From"] = address_header(mail_from)
    message["To"] = address_header(email.to_address)
    message["Subject"] = (
        email.subject if email.subject.isascii() else Header(email.subject, UTF8_QP).encode()
    )
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.attach(text_part(email.text_body, "plain"))
    message.attach(text_part(email.html_body, "html"))
    return message.as_bytes(policy=policy.SMTPUTF8 if international else policy.compat32)


def text_part(body: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part.set_payload(body, UTF8_QP)
    return part


def address_header(value: str) -> str:
    """``Name <address>, ...`` with names outside ASCII encoded, domains outside ASCII in their
    IDNA form, and a mailbox name outside ASCII left as it is (it goes with SMTPUTF8)."""
    parts = []
    for name, address in getaddresses([value]):
        address = smtp_address(address)
        if address.isascii():
            parts.append(formataddr((name, address), charset="utf-8"))
        else:
            shown = str(Header(name, UTF8_QP).encode()) if name and not name.isascii() else name
            parts.append(f"{shown} <{address}>" if shown else address)
    return ", ".join(parts)


def smtp_address(address: str) -> str:
    """The address as it goes over SMTP: its domain in IDNA form when it is outside ASCII."""
    mailbox, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    return f"{mailbox}@{domain.encode('idna').decode('ascii')}"


def by_reply_code(code: int, reply: str) -> TemporaryDeliveryError | PermanentDeliveryError:
    """5xx is the server's final word; anything below may succeed on a later try."""
    return PermanentDeliveryError(reply) if code >= 500 else TemporaryDeliveryError(reply)


def describe(refusals: list[tuple[str, int, str]]) -> str:
    """``bounce@example.com: 550 5.1.1 mailbox unavailable``, one per refused address."""
    return "; ".join(f"{address}: {code} {message}" for address, code, message in refusals)
