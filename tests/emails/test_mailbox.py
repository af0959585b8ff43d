"""The local mailbox: an SMTP server that keeps every message, and the pages that show them."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from emails.mailbox import Mailbox, MailboxServer, StoredMessage
from emails.outbox import message_id_for
from emails.sender import MailServer, send
from paydraw.db.tables import EmailOutbox
from paydraw.settings import Settings
from tests.emails.examples import outgoing

FROM = "Paydraw <billing@paydraw.local>"
HOSTILE_HTML = '<p>Hi</p><script>alert("mailbox")</script><img src=x onerror="alert(2)">'


@pytest.fixture
def mailbox_server(tmp_path: Path) -> Iterator[MailboxServer]:
    server = MailboxServer(tmp_path / "mailbox")
    server.start()
    yield server
    server.stop()


async def send_to(server: MailboxServer, email: EmailOutbox) -> None:
    await send(email, server=MailServer(host="127.0.0.1", port=server.port), mail_from=FROM)


async def received(directory: Path, email: EmailOutbox) -> StoredMessage:
    """Send `email` through a mailbox server on `directory` and return what it kept."""
    server = MailboxServer(directory)
    server.start()
    try:
        await send_to(server, email)
    finally:
        server.stop()
    [message] = Mailbox(directory).messages()
    return message


class TestMailboxServer:
    async def test_keeps_a_message_it_receives(self, mailbox_server: MailboxServer) -> None:
        await send_to(mailbox_server, outgoing())

        [message] = mailbox_server.mailbox.messages()
        assert message.message_id == message_id_for("invite:cmt_1:per_1:dana@acme.example")
        assert message.from_ == FROM
        assert message.to == "dana@acme.example"
        assert message.subject == "Invite to bill: Harbor View Tower"
        assert message.text == "Hello Dana,\n\nPlease bill by June 25.\n"
        assert "<p>Please bill by June 25.</p>" in message.html
        assert mailbox_server.mailbox.get(message.id) == message

    async def test_the_same_message_id_twice_is_kept_once(
        self, mailbox_server: MailboxServer
    ) -> None:
        await send_to(mailbox_server, outgoing())
        await send_to(mailbox_server, outgoing(subject="Sent again after a lost reply"))

        [message] = mailbox_server.mailbox.messages()
        assert message.subject == "Invite to bill: Harbor View Tower"

    async def test_lists_the_newest_first(self, mailbox_server: MailboxServer) -> None:
        for number in range(3):
            await send_to(
                mailbox_server, outgoing(subject=f"Email {number}", dedupe_key=str(number))
            )

        subjects = [message.subject for message in mailbox_server.mailbox.messages()]
        assert subjects == ["Email 2", "Email 1", "Email 0"]

    def test_listens_on_the_port_it_is_given(self, tmp_path: Path) -> None:
        first = MailboxServer(tmp_path)
        first.start()
        port = first.port
        first.stop()
        again = MailboxServer(tmp_path, "127.0.0.1", port)
        again.start()
        try:
            assert again.port == port
        finally:
            again.stop()


class TestMailbox:
    def test_an_empty_or_missing_folder_has_no_messages(self, tmp_path: Path) -> None:
        assert Mailbox(tmp_path / "never-created").messages() == []

    @pytest.mark.parametrize("id", ["../paydraw", "..", "20250601120000000000-zz", ""])
    def test_an_id_that_is_not_a_message_of_ours_is_not_found(
        self, tmp_path: Path, id: str
    ) -> None:
        assert Mailbox(tmp_path).get(id) is None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The API as `paydraw run` starts it, next to its own mailbox."""
    return settings.model_copy(update={"local_mailbox": True})


class TestMailboxPages:
    def test_a_deployment_without_the_local_mailbox_has_no_mailbox_page(
        self, settings: Settings, engine: Engine
    ) -> None:
        deployed = settings.model_copy(update={"local_mailbox": False})
        with TestClient(create_app(deployed, engine)) as client:
            assert client.get("/mailbox").status_code == 404
            assert client.get("/mailbox/20250601120000000000-0123456789abcdef").status_code == 404

    async def test_the_list_shows_each_messages_subject_and_recipient(
        self, settings: Settings, client: TestClient
    ) -> None:
        message = await received(settings.mailbox_dir, outgoing())

        page = client.get("/mailbox")

        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "Invite to bill: Harbor View Tower" in page.text
        assert "dana@acme.example" in page.text
        assert f'href="/mailbox/{message.id}"' in page.text

    def test_the_list_says_when_there_is_nothing_yet(self, client: TestClient) -> None:
        page = client.get("/mailbox")

        assert page.status_code == 200
        assert "No messages yet" in page.text

    async def test_a_message_shows_its_text_and_escapes_hostile_html(
        self, settings: Settings, client: TestClient
    ) -> None:
        hostile = outgoing(subject="<b>Bold</b> invite", html_body=HOSTILE_HTML)
        message = await received(settings.mailbox_dir, hostile)

        page = client.get(f"/mailbox/{message.id}")

        assert page.status_code == 200
        assert "Hello Dana,\n\nPlease bill by June 25." in page.text
        assert "&lt;b&gt;Bold&lt;/b&gt; invite" in page.text
        assert "<script>" not in page.text
        assert 'onerror="' not in page.text
        assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page.text
        assert 'srcdoc="&lt;base target=&#34;_blank&#34;&gt;&lt;p&gt;Hi&lt;/p&gt;' in page.text
        assert "script-src" not in page.headers["content-security-policy"]
        assert page.headers["content-security-policy"].startswith("default-src 'none'")

    def test_an_unknown_message_is_a_404_page(self, client: TestClient) -> None:
        page = client.get("/mailbox/20250601120000000000-0123456789abcdef")

        assert page.status_code == 404
        assert "Not in the mailbox" in page.text
