"""The SMTP server fixture: a real server per test, from tests.support.smtp."""

from collections.abc import Iterator

import pytest

from tests.support.smtp import SmtpTestServer, smtp_test_server


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    with smtp_test_server() as server:
        yield server
