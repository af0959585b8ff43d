"""The local mailbox of the one-command run: an SMTP server that keeps every message it gets.

Messages are .eml files named ``<received at>-<key>.eml``, so the newest sorts first and the key
(from the Message-ID) finds a message already kept. The app's /mailbox page reads the same folder.
"""

import asyncio
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

MESSAGE_FILE_STEM = re.compile(r"\d{20}-[0-9a-f]{16}")


@dataclass(frozen=True)
class StoredMessage:
    id: str
    message_id: str
    from_: str
    to: str
    subject: str
    date: datetime
    text: str
    html: str


class Mailbox:
    """Messages kept as .eml files in `directory`, which is created with the first message."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def add(self, content: bytes) -> str:
        """Keep a message and return its id; a Message-ID already kept returns the first id."""
        message_id = parse_message(content).get("Message-ID", "").strip()
        key = sha256_16(message_id) if message_id else secrets.token_hex(8)
        if existing := self.find(key):
            return existing.stem
        stem = f"{datetime.now(UTC):%Y%m%d%H%M%S%f}-{key}"
        self.directory.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed: the page never reads half a message.
        partial = self.directory / f"{stem}.partial"
        partial.write_bytes(content)
        os.replace(partial, self.directory / f"{stem}.eml")
        return stem

    def messages(self) -> list[StoredMessage]:
        """Every message, newest first."""
        if not self.directory.is_dir():
            return []
        return [read(path) for path in sorted(self.directory.glob("*.eml"), reverse=True)]

    def get(self, id: str) -> StoredMessage | None:
        """The message with this id, or None (also for an id that is not a file name of ours)."""
        if not MESSAGE_FILE_STEM.fullmatch(id):
            return None
        path = self.directory / f"{id}.eml"
        return read(path) if path.is_file() else None

    def find(self, key: str) -> Path | None:
        """The file of the message kept under `key`, if any."""
        return next(self.directory.glob(f"*-{key}.eml"), None) if self.directory.is_dir() else None


def sha256_16(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_message(content: bytes) -> EmailMessage:
    """A message as received over SMTP, its CRLF line ends read as Python's ``\\n``."""
    message = message_from_bytes(content.replace(b"\r\n", b"\n"), policy=policy.default)
    assert isinstance(message, EmailMessage)  # policy.default always builds EmailMessage
    return message


def read(path: Path) -> StoredMessage:
    message = parse_message(path.read_bytes())
    return StoredMessage(
        id=path.stem,
        message_id=str(message.get("Message-ID", "")),
        from_=str(message.get("From", "")),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        date=sent_at(message) or datetime.fromtimestamp(path.stat().st_mtime, UTC),
        text=body(message, "plain"),
        html=body(message, "html"),
    )


def sent_at(message: EmailMessage) -> datetime | None:
    """The Date header's time, or None when it is missing or unreadable."""
    date = message["Date"]
    return getattr(date, "datetime", None) if date is not None else None


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None and part.get_content_subtype() == subtype else ""


class FreePortController(Controller):
    """aiosmtpd's Controller, also for port 0 (a free port the system picks, read back after)."""

    def _trigger_server(self) -> None:
        # start() connects to self.port to check the server is up: it must be the real port.
        assert isinstance(self.server, asyncio.Server)  # bound by now, before the trigger
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it untyped


class MailboxServer:
    """An SMTP server on `host`:`port` that keeps every message it accepts in a Mailbox."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.mailbox = Mailbox(directory)
        self.controller = FreePortController(self, hostname=host, port=port)

    @property
    def port(self) -> int:
        port: int = self.controller.port
        return port

    def start(self) -> None:
        """Start answering SMTP in a background thread (returns once the server answers)."""
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Envelope) -> str:
        """aiosmtpd's hook for a message's content: keep it, then answer 250."""
        assert isinstance(envelope.content, bytes)  # decode_data is off: content stays bytes
        self.mailbox.add(envelope.content)
        return "250 Message accepted for delivery"
