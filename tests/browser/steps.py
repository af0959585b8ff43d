"""What a person does in the browser tests: follow a link in an email, sign in from the emailed
link."""

from playwright.async_api import Browser, Page

from tests.support.browser import accessibility_problems
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import messages_to, wait_for


def link_in(smtp: SmtpTestServer, address: str, subject: str, path: str) -> str:
    """The link to ``path`` in the latest such email's plain-text part, as a person clicks it."""
    message = messages_to(smtp, address, subject)[-1]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    [link] = [word for word in str(body.get_content()).split() if path in word]
    return link


async def sign_in_from_email(
    browser: Browser,
    smtp: SmtpTestServer,
    email: str,
    start: str,
    viewport: dict[str, int],
    lands: str | None = None,
) -> Page:
    """Open ``start``, get sent to sign in, ask for the link, follow the email's link, press
    Sign in: the page lands back on ``start`` (or where ``start`` leads, ``lands``)."""
    page = await browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    await page.goto(start)
    assert "/sign-in" in page.url
    assert await accessibility_problems(page) == []
    before = len(messages_to(smtp, email, "sign-in"))
    await page.get_by_label("Your work email").fill(email)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.wait_for_load_state()
    assert "Check your email" in await page.inner_text("h1")
    await wait_for(lambda: len(messages_to(smtp, email, "sign-in")) > before, what="the link")
    await page.goto(link_in(smtp, email, "sign-in", "/sign-in/"))
    assert await accessibility_problems(page) == []
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
    assert page.url == (lands or start)
    return page
