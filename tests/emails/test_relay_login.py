"""Sending through a real mail relay, as Amazon SES, SendGrid, Postmark or Microsoft 365 take
mail: STARTTLS on the submission port (587) or TLS from the start (465), a user name and a
password, a certificate the worker must trust. Nothing goes out in clear when TLS is asked for,
and a refused login keeps the emails queued (it is the operator's to fix) without ever showing
the password."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pydantic import SecretStr

from emails.sender import MailServer, SmtpSecurity, TemporaryDeliveryError, send
from paydraw.settings import Settings
from tests.emails.examples import outgoing
from tests.support.smtp import SmtpTestServer

FROM = "Paydraw <billing@paydraw.local>"
LOGIN = ("paydraw", "relay-password-7c1f")


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "relay-ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


def relay(authority: trustme.CA, security: str) -> Iterator[SmtpTestServer]:
    server = SmtpTestServer(
        security=security, certificate=authority.issue_cert("127.0.0.1"), login=LOGIN
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def submission_relay(authority: trustme.CA) -> Iterator[SmtpTestServer]:
    """STARTTLS required before anything else, then AUTH."""
    yield from relay(authority, "starttls")


@pytest.fixture
def tls_relay(authority: trustme.CA) -> Iterator[SmtpTestServer]:
    """TLS from the first byte, then AUTH."""
    yield from relay(authority, "tls")


def server_for(
    relay: SmtpTestServer, security: SmtpSecurity, ca_file: str = "", password: str = LOGIN[1]
) -> MailServer:
    return MailServer(
        host="127.0.0.1",
        port=relay.port,
        security=security,
        username=LOGIN[0],
        password=password,
        ca_file=ca_file,
    )


class TestSignedIn:
    async def test_starttls_then_login_on_the_submission_port(
        self, submission_relay: SmtpTestServer, ca_file: str
    ) -> None:
        server = server_for(submission_relay, SmtpSecurity.STARTTLS, ca_file)

        await send(outgoing(subject="Over STARTTLS"), server=server, mail_from=FROM)

        assert [message["Subject"] for message in submission_relay.received] == ["Over STARTTLS"]
        assert submission_relay.logins == ["paydraw"]

    async def test_tls_from_the_start_then_login(
        self, tls_relay: SmtpTestServer, ca_file: str
    ) -> None:
        server = server_for(tls_relay, SmtpSecurity.TLS, ca_file)

        await send(outgoing(subject="Over TLS"), server=server, mail_from=FROM)

        assert [message["Subject"] for message in tls_relay.received] == ["Over TLS"]
        assert tls_relay.logins == ["paydraw"]


class TestRefusedAndKeptQueued:
    async def test_a_wrong_password_is_temporary_and_never_shown(
        self, submission_relay: SmtpTestServer, ca_file: str
    ) -> None:
        server = server_for(submission_relay, SmtpSecurity.STARTTLS, ca_file, password="wrong-9")

        with pytest.raises(TemporaryDeliveryError) as refused:
            await send(outgoing(), server=server, mail_from=FROM)

        assert "535" in str(refused.value) or "auth" in str(refused.value).lower()
        assert "wrong-9" not in str(refused.value)
        assert "wrong-9" not in repr(server)
        assert submission_relay.received == []

    async def test_nothing_goes_out_in_clear_when_the_relay_offers_no_starttls(
        self, smtp_server: SmtpTestServer
    ) -> None:
        server = MailServer(host="127.0.0.1", port=smtp_server.port, security="starttls")

        with pytest.raises(TemporaryDeliveryError):
            await send(outgoing(), server=server, mail_from=FROM)

        assert smtp_server.received == []

    async def test_a_certificate_the_worker_does_not_trust_is_refused(
        self, submission_relay: SmtpTestServer
    ) -> None:
        server = server_for(submission_relay, SmtpSecurity.STARTTLS)  # no CA file for it

        with pytest.raises(TemporaryDeliveryError):
            await send(outgoing(), server=server, mail_from=FROM)

        assert submission_relay.received == []
        assert submission_relay.logins == []


class TestSettings:
    def test_the_settings_make_the_mail_server_and_hide_the_password(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PAYDRAW_SMTP_HOST", "email-smtp.eu-west-1.amazonaws.com")
        monkeypatch.setenv("PAYDRAW_SMTP_PORT", "587")
        monkeypatch.setenv("PAYDRAW_SMTP_SECURITY", "starttls")
        monkeypatch.setenv("PAYDRAW_SMTP_USERNAME", "AKIAEXAMPLE")
        monkeypatch.setenv("PAYDRAW_SMTP_PASSWORD", "ses-secret-41")
        monkeypatch.setenv("PAYDRAW_SMTP_TIMEOUT_SECONDS", "12.5")

        settings = Settings()
        server = MailServer.of(settings)

        assert server == MailServer(
            host="email-smtp.eu-west-1.amazonaws.com",
            port=587,
            security=SmtpSecurity.STARTTLS,
            username="AKIAEXAMPLE",
            password="ses-secret-41",
            timeout=12.5,
        )
        assert isinstance(settings.smtp_password, SecretStr)
        for shown in (repr(settings), str(settings.model_dump()), repr(server)):
            assert "ses-secret-41" not in shown

    def test_another_process_gets_the_password_itself(self) -> None:
        settings = Settings(smtp_username="AKIAEXAMPLE", smtp_password=SecretStr("ses-secret-41"))
        variables = settings.as_environment()
        assert variables["PAYDRAW_SMTP_PASSWORD"] == "ses-secret-41"
        assert variables["PAYDRAW_SMTP_USERNAME"] == "AKIAEXAMPLE"

    def test_an_unknown_security_is_refused_naming_the_setting(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PAYDRAW_SMTP_SECURITY", "ssl3")
        with pytest.raises(ValueError, match="smtp_security"):
            Settings()
