"""A real SMTP server for tests, in-process on a free port, that can be told to misbehave.

It keeps what it accepts, and can answer 451 to the next N messages or 550 to chosen addresses,
or sit on the next N messages for a while, so delivery code is tested against the replies (and
the silences) a real mail server gives.
"""

import asyncio
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

import trustme
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from emails.mailbox import FreePortController, parse_message

TEMPORARY_FAILURE = "451 4.3.0 Temporary failure, please try again later"


class SmtpTestServer:
    """Accepts mail on 127.0.0.1:`port` and keeps each message in `received`, in order."""

    def __init__(
        self,
        port: int = 0,
        smtputf8: bool = False,
        *,
        security: str = "none",
        certificate: trustme.LeafCert | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.received: list[EmailMessage] = []
        self.connections: list[Any] = []  # one aiosmtpd session per SMTP connection
        self.refusals: dict[str, str] = {}
        self.temporary_failures_left = 0
        self.stalls_left = 0
        self.stall_seconds = 0.0
        self.login = login
        self.logins: list[str] = []  # the user names that signed in, one per connection
        # With `smtputf8`, it offers SMTPUTF8 (RFC 6531): addresses outside ASCII are taken.
        # A relay as in production: `security` "tls" speaks TLS from the start (port 465),
        # "starttls" requires STARTTLS before anything else (port 587), with `certificate`;
        # with `login`, it requires AUTH with that user name and password.
        options: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        tls = None
        if certificate is not None:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            certificate.configure_cert(tls)
        if security == "starttls":
            options |= {"tls_context": tls, "require_starttls": True}
        if login is not None:
            options |= {
                "auth_required": True,
                # aiosmtpd counts only STARTTLS as TLS; on port 465 the whole connection is.
                "auth_require_tls": security == "starttls",
                "authenticator": self.authenticate,
            }
        self.controller = FreePortController(
            self,
            hostname="127.0.0.1",
            port=port,
            ssl_context=tls if security == "tls" else None,
            **options,
        )

    @property
    def port(self) -> int:
        port: int = self.controller.port
        return port

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def refuse(self, address: str, reply: str | None = None) -> None:
        """Answer RCPT TO:`address` with a permanent 550 (the mailbox does not exist)."""
        self.refusals[address.lower()] = reply or f"550 5.1.1 <{address}>: mailbox unavailable"

    def fail_temporarily(self, times: int) -> None:
        """Answer MAIL FROM with 451 for the next `times` messages, as a busy server does."""
        self.temporary_failures_left = times

    def stall(self, seconds: float, times: int = 1) -> None:
        """Sit on MAIL FROM for `seconds` for the next `times` messages, as an overloaded server
        does."""
        self.stall_seconds, self.stalls_left = seconds, times

    def authenticate(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        assert self.login is not None and isinstance(data, LoginPassword)
        user, password = data.login.decode(), data.password.decode()
        if (user, password) != self.login:
            return AuthResult(success=False, handled=False)
        self.logins.append(user)
        return AuthResult(success=True)

    async def handle_MAIL(
        self, _server: Any, session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not any(session is seen for seen in self.connections):
            self.connections.append(session)
        if self.stalls_left > 0:
            self.stalls_left -= 1
            await asyncio.sleep(self.stall_seconds)
        if self.temporary_failures_left > 0:
            self.temporary_failures_left -= 1
            return TEMPORARY_FAILURE
        # aiosmtpd leaves the envelope to a handler that takes over MAIL.
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if refusal := self.refusals.get(address.lower()):
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append(parse_message(envelope.content))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_test_server(port: int = 0, smtputf8: bool = False) -> Iterator[SmtpTestServer]:
    """A started server (on a free port, or on `port`), stopped when the block ends."""
    server = SmtpTestServer(port, smtputf8)
    server.start()
    try:
        yield server
    finally:
        server.stop()
