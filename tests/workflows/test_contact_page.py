"""The invoice contact's page, opened from the link in a real invite email, answered through forms.

On the time-skipping test server with the billing worker and a real SMTP server: what the page
shows, how accept and decline go through the workflow, and what a bad or foreign link gets.
"""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from paydraw.db.tables import AuditEvent
from paydraw.invitations.tokens import ContactClaim, issue
from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.support.temporal import billing_worker
from tests.workflows.helpers import (
    Paydraw,
    api_client,
    contact_token,
    invited_period,
    messages_to,
    open_period,
    post,
    wait_for,
)

CONTACT = "billing@vendor-0.example"
HOSTILE = '<script>alert("paydraw")</script>'


@dataclass(frozen=True)
class Invited:
    api: httpx.AsyncClient
    admin: dict[str, str]
    period_id: str
    commitment_ids: list[str]
    invite: EmailMessage

    @property
    def token(self) -> str:
        return contact_token(self.invite)

    async def page(self) -> httpx.Response:
        return await self.api.get("/contact", params={"token": self.token})

    async def board(self) -> Any:
        """The period's board, as the GC's admin sees it."""
        path = f"/api/v1/billing-periods/{self.period_id}"
        response = await self.api.get(path, headers=self.admin)
        assert response.status_code == 200, response.text
        return response.json()


@asynccontextmanager
async def invited(
    env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    smtp: SmtpTestServer,
    admin: dict[str, str],
    commitments: int = 1,
) -> AsyncIterator[Invited]:
    """A project whose first commitment is invited to an open period, with its invite received."""
    async with (
        api_client(env, settings, engine) as api,
        billing_worker(env.client, settings, engine),
    ):
        period = await invited_period(
            env, api, admin, smtp, due_in_days=10, uninvited=commitments - 1
        )
        ids = period.commitment_ids + period.uninvited_ids
        yield Invited(api, admin, period.period_id, ids, messages_to(smtp, CONTACT)[0])


def link_in(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"http://paydraw\.test/contact\?token=\S+", body.get_content())
    assert found is not None, "no contact link in the invite"
    return found.group(0)


class TableRows(HTMLParser):
    """The text of every table row's cells, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str) -> list[list[str]]:
    parser = TableRows()
    parser.feed(html)
    return parser.rows


def form_keys(page: httpx.Response) -> list[str]:
    """The hidden idempotency keys of the page's forms: accept first, then decline."""
    return re.findall(r'name="idempotency_key" value="([^"]+)"', page.text)


def invitation_answers(engine: Engine) -> list[str]:
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.entity_type == "invitation")
        return [event.action for event in session.exec(query) if event.action != "invite"]


class TestThePage:
    async def test_the_invite_link_opens_the_contacts_commitment(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(time_skipping_env, process_settings, engine, smtp, admin) as case:
            page = await case.api.get(link_in(case.invite))

            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "default-src 'none'" in page.headers["content-security-policy"]
            assert page.headers["cache-control"] == "no-store"
            assert "Harbor View Tower" in page.text
            assert "SC-0000" in page.text and "Vendor 0" in page.text
            board = await case.board()
            due_date = board["rows"][0]["due_date"]
            assert f"{due_date}</td>" in page.text
            assert "invited, waiting for your answer" in page.text
            assert table_rows(page.text)[-4:] == [
                ["Code", "Description", "Scheduled value", "Previously billed", "Billable"],
                ["01", "Mobilization", "$5,000.00", "$0.00", "$5,000.00"],
                ["02", "Framing", "$60,000.00", "$0.00", "$60,000.00"],
                ["Contract sum to date", "$65,000.00", "$0.00", "$65,000.00"],
            ]
            assert len(form_keys(page)) == 2 and len(set(form_keys(page))) == 2
            assert 'action="/contact/accept"' in page.text
            assert 'name="reason" required' in page.text


class TestAnswering:
    async def test_accept_redirects_to_the_page_and_the_board_shows_it(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(time_skipping_env, process_settings, engine, smtp, admin) as case:
            accept_key, _ = form_keys(await case.page())

            # A double-click: the same form sent twice at once answers once.
            first, second = await asyncio.gather(
                *(
                    case.api.post(
                        "/contact/accept",
                        data={"token": case.token, "idempotency_key": accept_key},
                    )
                    for _ in range(2)
                )
            )

            for response in (first, second):
                assert response.status_code == 303, response.text
                assert response.headers["location"] == f"/contact?token={case.token}"
            assert invitation_answers(engine) == ["accept"]
            page = await case.api.get(first.headers["location"])
            assert page.status_code == 200
            assert 'id="invitation-status">accepted</span>' in page.text
            assert "You accepted this invitation" in page.text
            assert 'action="/contact/accept"' not in page.text
            board = await case.board()
            assert board["rows"][0]["invitation_status"] == "accepted"
            assert board["counts"]["accepted"] == 1

    async def test_decline_needs_a_reason_and_then_shows_it(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(time_skipping_env, process_settings, engine, smtp, admin) as case:
            _, decline_key = form_keys(await case.page())

            refused = await case.api.post(
                "/contact/decline",
                data={"token": case.token, "idempotency_key": decline_key, "reason": "  "},
            )
            assert refused.status_code == 422
            assert "Please check the reason: a reason is required to decline." in refused.text
            assert 'aria-invalid="true" aria-describedby="reason-error"' in refused.text
            assert 'action="/contact/decline"' in refused.text
            assert invitation_answers(engine) == []

            too_long = await case.api.post(
                "/contact/decline",
                data={"token": case.token, "idempotency_key": decline_key, "reason": "x" * 2001},
            )
            assert too_long.status_code == 422
            assert "at most 2000 characters" in too_long.text

            reason = "No work this month & nothing stored"
            declined = await case.api.post(
                "/contact/decline",
                data={"token": case.token, "idempotency_key": decline_key, "reason": reason},
            )
            assert declined.status_code == 303, declined.text
            page = await case.page()
            assert 'id="invitation-status">declined</span>' in page.text
            assert "No work this month &amp; nothing stored" in page.text
            board = await case.board()
            assert board["rows"][0]["invitation_status"] == "declined"
            assert board["rows"][0]["decline_reason"] == reason

            # The stale page's Accept button now meets the workflow's refusal, shown on the page.
            late = await case.api.post(
                "/contact/accept",
                data={"token": case.token, "idempotency_key": "a-fresh-key"},
            )
            assert late.status_code == 409
            assert "cannot accept" in late.text and "declined" in late.text
            assert invitation_answers(engine) == ["decline"]


class TestWhatALinkMayShow:
    async def test_a_tampered_or_missing_token_gets_the_401_page(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(time_skipping_env, process_settings, engine, smtp, admin) as case:
            tampered = case.token[:-4] + ("AAAA" if not case.token.endswith("AAAA") else "BBBB")
            for response in (
                await case.api.get("/contact", params={"token": tampered}),
                await case.api.get("/contact"),
                await case.api.post(
                    "/contact/accept", data={"token": tampered, "idempotency_key": "k"}
                ),
            ):
                assert response.status_code == 401
                assert response.headers["content-type"].startswith("text/html")
                assert "This link is not valid or has expired" in response.text
                assert "Ask the general contractor for a new one" in response.text
                assert "Vendor 0" not in response.text and "Harbor View" not in response.text
            assert invitation_answers(engine) == []

    async def test_a_token_for_a_commitment_not_invited_gets_the_404_page(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(
            time_skipping_env, process_settings, engine, smtp, admin, commitments=2
        ) as case:
            not_invited = ContactClaim(
                case.commitment_ids[1], case.period_id, "billing@vendor-1.example"
            )
            token = issue(process_settings, not_invited)

            page = await case.api.get("/contact", params={"token": token})
            answered = await case.api.post(
                "/contact/accept", data={"token": token, "idempotency_key": "k"}
            )

            for response in (page, answered):
                assert response.status_code == 404
                assert "This invitation is not available" in response.text
                assert "Vendor 1" not in response.text and "SC-0001" not in response.text

    async def test_hostile_text_is_shown_as_text(
        self,
        time_skipping_paydraw: Paydraw,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = time_skipping_paydraw.env, time_skipping_paydraw.api
        project = await post(
            api,
            "/api/v1/projects",
            admin,
            name=f"{HOSTILE} Tower",
            general_contractor=f'GC "{HOSTILE}"',
        )
        commitment = await post(
            api,
            f"/api/v1/projects/{project['id']}/commitments",
            admin,
            number="SC-0000",
            vendor_name=f"<b>Vendor</b>{HOSTILE}",
            contacts=[{"name": "Clerk", "email": CONTACT}],
            sov_lines=[
                {"code": "01", "description": HOSTILE, "scheduled_value": "1234.56"},
            ],
        )
        await post(api, f"/api/v1/commitments/{commitment['id']}/sov/approve", admin)
        period_id = await open_period(env, api, admin, project["id"], due_in_days=10)
        await post(
            api,
            f"/api/v1/billing-periods/{period_id}/invites",
            admin,
            commitment_ids=[commitment["id"]],
        )
        await wait_for(lambda: len(messages_to(smtp, CONTACT)) == 1, what="the invite")
        token = contact_token(messages_to(smtp, CONTACT)[0])
        _, decline_key = form_keys(await api.get("/contact", params={"token": token}))
        declined = await api.post(
            "/contact/decline",
            data={"token": token, "idempotency_key": decline_key, "reason": HOSTILE},
        )
        assert declined.status_code == 303

        page = await api.get("/contact", params={"token": token})

        assert page.status_code == 200
        assert "<script>" not in page.text and "<b>Vendor" not in page.text
        escaped = "&lt;script&gt;alert(&#34;paydraw&#34;)&lt;/script&gt;"
        assert page.text.count(escaped) >= 5  # title, heading, GC, vendor, SOV line, reason
        assert table_rows(page.text)[-2][-3:] == ["$1,234.56", "$0.00", "$1,234.56"]
