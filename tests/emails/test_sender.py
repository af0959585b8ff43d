"""Sending one email over SMTP: the message's shape, and which failures are worth a retry."""

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emails.outbox import message_id_for
from emails.sender import (
    MailServer,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    build_message,
    message_by_email_package,
    send,
)
from tests.emails.examples import outgoing
from tests.support.smtp import SmtpTestServer, smtp_test_server

FROM = "Paydraw <billing@paydraw.local>"


async def send_to(server: SmtpTestServer, **changes: str) -> None:
    await send(
        outgoing(**changes), server=MailServer(host="127.0.0.1", port=server.port), mail_from=FROM
    )


class TestConnectionsKeptOpen:
    async def test_messages_one_after_the_other_share_one_connection(
        self, smtp_server: SmtpTestServer
    ) -> None:
        for number in range(3):
            await send_to(smtp_server, subject=f"Message {number}")

        assert [message["Subject"] for message in smtp_server.received] == [
            "Message 0",
            "Message 1",
            "Message 2",
        ]
        assert len(smtp_server.connections) == 1

    async def test_a_restarted_server_gets_the_next_message_on_a_new_connection(self) -> None:
        with smtp_test_server() as first:
            await send_to(first, subject="Before")
        # Stopping, it dropped the connection kept open for the next message.
        with smtp_test_server(port=first.port) as restarted:
            await send_to(restarted, subject="After")

        assert [message["Subject"] for message in first.received] == ["Before"]
        assert [message["Subject"] for message in restarted.received] == ["After"]

    async def test_a_refused_message_does_not_leave_its_connection_for_the_next(
        self, smtp_server: SmtpTestServer
    ) -> None:
        smtp_server.refuse("gone@acme.example")
        with pytest.raises(PermanentDeliveryError):
            await send_to(smtp_server, to_address="gone@acme.example")
        await send_to(smtp_server)

        assert len(smtp_server.received) == 1
        assert len(smtp_server.connections) == 2


class TestTheMessage:
    async def test_has_the_headers_and_a_text_part_with_an_html_alternative(
        self, smtp_server: SmtpTestServer
    ) -> None:
        await send_to(smtp_server)

        [message] = smtp_server.received
        assert message["From"] == FROM
        assert message["To"] == "dana@acme.example"
        assert message["Subject"] == "Invite to bill: Harbor View Tower"
        assert message["Message-ID"] == message_id_for("invite:cmt_1:per_1:dana@acme.example")
        assert message["Date"].datetime is not None
        assert message["Auto-Submitted"] == "auto-generated"
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert text is not None and text.get_content() == "Hello Dana,\n\nPlease bill by June 25.\n"
        assert html is not None and "<p>Please bill by June 25.</p>" in html.get_content()

    async def test_text_outside_ascii_arrives_as_written(self, smtp_server: SmtpTestServer) -> None:
        await send(
            outgoing(
                to_address="renee@acme.example",
                subject="Invite to bill — Café Block Ä",
                text_body="Bonjour Renée,\n\nFacturez avant le 25 juin — merci.\n",
                html_body="<p>Facturez avant le 25 juin — merci.</p>",
            ),
            server=MailServer(host="127.0.0.1", port=smtp_server.port),
            mail_from="Paydraw Zürich <billing@paydraw.local>",
        )

        [message] = smtp_server.received
        assert message["From"] == "Paydraw Zürich <billing@paydraw.local>"
        assert message["Subject"] == "Invite to bill — Café Block Ä"
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert text is not None
        assert text.get_content() == "Bonjour Renée,\n\nFacturez avant le 25 juin — merci.\n"
        assert html is not None and "25 juin — merci." in html.get_content()


def read_back(message: bytes) -> tuple[dict[str, str], str, str]:
    """What a mail client shows: the headers (Date aside), the text and the HTML."""
    parsed = message_from_bytes(message, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    headers = {name: str(parsed[name]) for name in ("From", "To", "Subject", "Message-ID")}
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    return headers, text.get_content(), html.get_content()


# Bodies as templates write them, and worse: any text, lines of any length, trailing spaces,
# a line of "=" or of one dot, carriage returns.
BODIES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=400,
) | st.lists(st.sampled_from(["", ".", "=", "=_", " ", "Tab\t", "x" * 90, "é" * 40, "a  "])).map(
    "\n".join
)


class TestTheMessageWrittenDirectly:
    @settings(max_examples=300, deadline=None)
    @given(
        text=BODIES,
        html=BODIES,
        subject=st.text(max_size=90, alphabet=st.characters(blacklist_categories=("Cs", "Cc"))),
    )
    def test_reads_back_as_the_email_package_writes_it(
        self, text: str, html: str, subject: str
    ) -> None:
        email = outgoing(subject=subject, text_body=text, html_body=html)

        headers, *bodies = read_back(build_message(email, mail_from=FROM))
        by_package = message_by_email_package(email, mail_from=FROM)
        package_headers, *package_bodies = read_back(by_package)

        assert bodies == package_bodies
        # The subject reads as written (the email package itself adds a space before some).
        assert headers.pop("Subject").split() == subject.split()
        del package_headers["Subject"]
        assert headers == package_headers

    def test_a_common_email_is_written_directly_in_quoted_printable(self) -> None:
        body = "Dear Renée,\n\nPlease bill by June 25 = the due date.  \n"
        subject = "Pay application #2 submitted — Café Block"
        message = build_message(outgoing(subject=subject, text_body=body), mail_from=FROM)

        assert b'boundary="=_paydraw_' in message  # not the email package's boundary
        assert b"Subject: =?utf-8?b?" in message
        assert read_back(message)[0]["Subject"] == subject
        assert b"Content-Transfer-Encoding: quoted-printable" in message
        assert b"Ren=C3=A9e" in message and b"=3D the due date. =20" in message
        assert read_back(message)[1] == body


class TestFailures:
    async def test_a_451_is_temporary(self, smtp_server: SmtpTestServer) -> None:
        smtp_server.fail_temporarily(1)

        with pytest.raises(TemporaryDeliveryError, match=re.escape("451 4.3.0")):
            await send_to(smtp_server)

    async def test_a_greylisted_recipient_is_temporary(self, smtp_server: SmtpTestServer) -> None:
        smtp_server.refuse("dana@acme.example", "450 4.2.0 Greylisted, come back later")

        with pytest.raises(TemporaryDeliveryError, match=re.escape("dana@acme.example: 450 4.2.0")):
            await send_to(smtp_server)

    async def test_a_550_for_the_recipient_is_permanent(self, smtp_server: SmtpTestServer) -> None:
        smtp_server.refuse("dana@acme.example")

        with pytest.raises(
            PermanentDeliveryError, match=re.escape("550 5.1.1 <dana@acme.example>")
        ):
            await send_to(smtp_server)

    async def test_one_refused_address_of_two_is_permanent_for_that_address(
        self, smtp_server: SmtpTestServer
    ) -> None:
        smtp_server.refuse("gone@acme.example")

        with pytest.raises(PermanentDeliveryError, match=r"^gone@acme\.example: 550 5\.1\.1"):
            await send_to(smtp_server, to_address="dana@acme.example, gone@acme.example")
        assert len(smtp_server.received) == 1

    async def test_a_server_that_is_down_is_temporary(self) -> None:
        server = SmtpTestServer()
        server.start()
        server.stop()

        with pytest.raises(TemporaryDeliveryError):
            await send_to(server)
