"""The invoice contact's page, opened from the link in a real invite email, answered through forms.

On the time-skipping test server with the billing worker and a real SMTP server: what the page
shows, how accept and decline go through the workflow, and what a bad or foreign link gets.
"""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from paydraw.db.tables import AuditEvent, BillingPeriod, PayApp
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
    **project: Any,
) -> AsyncIterator[Invited]:
    """A project whose first commitment is invited to an open period, with its invite received."""
    async with (
        api_client(env, settings, engine) as api,
        billing_worker(env.client, settings, engine),
    ):
        period = await invited_period(
            env, api, admin, smtp, due_in_days=10, uninvited=commitments - 1, **project
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


def pay_app_form(page: httpx.Response, form_id: str) -> dict[str, str]:
    """The hidden fields of one of the page's billing forms (its token and its own key)."""
    found = re.search(rf'<form [^>]*id="{form_id}".*?</form>', page.text, re.DOTALL)
    assert found is not None, f"no form {form_id} on the page"
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', found.group(0))
    return dict(hidden)


async def contacts_pay_app(case: Invited) -> Any:
    """The contact's pay app, as the contact's JSON API answers."""
    headers = {"Authorization": f"Bearer {case.token}"}
    response = await case.api.get("/api/v1/contact/pay-app", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def by_code(pay_app: Any) -> dict[str, tuple[str, str]]:
    """(work this period, materials stored) per line code."""
    return {
        line["code"]: (line["this_period"], line["materials_stored"]) for line in pay_app["lines"]
    }


def line_ids(pay_app: Any) -> dict[str, str]:
    return {line["code"]: line["sov_line_id"] for line in pay_app["lines"]}


class TestBillingOnThePage:
    async def test_each_way_of_billing_saves_what_the_api_would(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(time_skipping_env, process_settings, engine, smtp, admin) as case:
            accept_key, _ = form_keys(await case.page())
            data = {"token": case.token, "idempotency_key": accept_key}
            assert (await case.api.post("/contact/accept", data=data)).status_code == 303
            page = await case.page()
            ids = re.findall(r'name="percent-([^"]+)"', page.text)
            mobilization, framing = ids

            # Per line percent complete: Framing 25% of $60,000.00.
            form = pay_app_form(page, "bill-percent") | {"intent": "save"}
            saved = await case.api.post(
                "/contact/pay-app", data=form | {f"percent-{framing}": "25%"}
            )
            assert saved.status_code == 303, saved.text
            pay_app = await contacts_pay_app(case)
            assert pay_app["entry_mode"] == "per_line_percent"
            assert by_code(pay_app) == {"01": ("0.00", "0.00"), "02": ("15000.00", "0.00")}
            page = await case.page()
            assert '<details class="card panel way" id="way-percent" open>' in page.text

            # A percent over 100 is refused next to its line, what was typed kept.
            form = pay_app_form(page, "bill-percent") | {"intent": "save"}
            refused = await case.api.post(
                "/contact/pay-app", data=form | {f"percent-{framing}": "120"}
            )
            assert refused.status_code == 422
            assert f'aria-invalid="true" aria-describedby="percent-{framing}-error"' in refused.text
            assert f'id="percent-{framing}-error">Input should be less than or equal to 100' in (
                refused.text
            )
            assert f'name="percent-{framing}" id="percent-{framing}" value="120"' in refused.text
            nothing = await case.api.post("/contact/pay-app", data=form)
            assert nothing.status_code == 422
            assert "type a percent complete for at least one line" in nothing.text

            # Whole lines, each to its full balance.
            form = pay_app_form(page, "bill-lines") | {"intent": "save"}
            saved = await case.api.post(
                "/contact/pay-app", data=form | {f"full-{mobilization}": "yes"}
            )
            assert saved.status_code == 303, saved.text
            pay_app = await contacts_pay_app(case)
            assert pay_app["entry_mode"] == "lines"
            assert by_code(pay_app) == {"01": ("5000.00", "0.00"), "02": ("0.00", "0.00")}
            refused = await case.api.post("/contact/pay-app", data=form)
            assert refused.status_code == 422
            assert 'id="full-error"' in refused.text

            # Then submitted from the per line form, as amounts.
            form = pay_app_form(await case.page(), "bill") | {"intent": "submit"}
            amounts = {f"work-{mobilization}": "$1,000", f"work-{framing}": "12,000"}
            submitted = await case.api.post("/contact/pay-app", data=form | amounts)
            assert submitted.status_code == 303, submitted.text
            pay_app = await contacts_pay_app(case)
            assert pay_app["status"] == "under_review"
            assert by_code(pay_app) == {"01": ("1000.00", "0.00"), "02": ("12000.00", "0.00")}
            page = await case.page()
            assert 'id="bill"' not in page.text  # nothing to change while it is reviewed

    async def test_over_billing_under_the_warn_policy_goes_through_with_a_reason(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(
            time_skipping_env, process_settings, engine, smtp, admin, overbilling_policy="warn"
        ) as case:
            accept_key, _ = form_keys(await case.page())
            data = {"token": case.token, "idempotency_key": accept_key}
            await case.api.post("/contact/accept", data=data)
            page = await case.page()
            mobilization, _ = re.findall(r'name="percent-([^"]+)"', page.text)
            form = pay_app_form(page, "bill") | {"intent": "save", f"work-{mobilization}": "6000"}

            refused = await case.api.post("/contact/pay-app", data=form)
            assert refused.status_code == 422
            assert f'aria-describedby="work-{mobilization}-error"' in refused.text
            assert "needs an override reason" in refused.text
            reason = "The owner added a second crane pad"
            form |= pay_app_form(refused, "bill")  # the refused page's form, with a key of its own
            assert f'id="work-{mobilization}" value="6000"' in refused.text
            saved = await case.api.post("/contact/pay-app", data=form | {"override_reason": reason})
            assert saved.status_code == 303, saved.text
            pay_app = await contacts_pay_app(case)
            assert pay_app["overbilling_override_reason"] == reason
            assert by_code(pay_app)["01"] == ("6000.00", "0.00")

    async def test_the_previews_price_each_way_as_saving_would(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(time_skipping_env, process_settings, engine, smtp, admin) as case:
            accept_key, _ = form_keys(await case.page())
            data = {"token": case.token, "idempotency_key": accept_key}
            await case.api.post("/contact/accept", data=data)
            page = await case.page()
            mobilization, framing = re.findall(r'name="percent-([^"]+)"', page.text)

            async def priced(form_id: str, **fields: str) -> str:
                form = pay_app_form(page, form_id) | fields
                response = await case.api.post("/contact/pay-app/preview", data=form)
                assert response.status_code == 200
                return response.text

            percent = await priced("bill-percent", **{f"percent-{framing}": "25"})
            assert 'id="preview-percent-total">$15,000.00<' in percent
            assert "<strong>$13,500.00</strong>" in percent  # line 8, less 10% retainage
            lines = await priced("bill-lines", **{f"full-{mobilization}": "yes"})
            assert 'id="preview-lines-total">$5,000.00<' in lines
            whole = await priced("bill-whole", mode="contract_percent", figure="10")
            assert 'id="preview-whole-total">$6,500.00<' in whole
            over = await priced("bill", **{f"work-{mobilization}": "6000"})
            assert "line 01: billable 5000.00, asked 6000.00" in over
            assert pay_app_figures(engine) == 0  # nothing saved
            assert 'name="override_reason"' not in page.text  # over-billing is blocked here

    async def test_a_draft_does_not_count_as_billed_before_it(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(time_skipping_env, process_settings, engine, smtp, admin) as case:
            accept_key, _ = form_keys(await case.page())
            data = {"token": case.token, "idempotency_key": accept_key}
            await case.api.post("/contact/accept", data=data)
            page = await case.page()
            _, framing = re.findall(r'name="percent-([^"]+)"', page.text)
            form = pay_app_form(page, "bill") | {"intent": "save", f"work-{framing}": "12000"}
            assert (await case.api.post("/contact/pay-app", data=form)).status_code == 303

            page = await case.page()
            assert 'Framing <span class="note">billable $60,000.00</span>' in page.text
            assert ["02", "Framing", "$60,000.00", "$0.00", "$60,000.00"] in table_rows(page.text)

            form = pay_app_form(page, "bill") | {"intent": "submit", f"work-{framing}": "12000"}
            assert (await case.api.post("/contact/pay-app", data=form)).status_code == 303
            page = await case.page()
            assert ["02", "Framing", "$60,000.00", "$0.00", "$60,000.00"] in table_rows(page.text)
            assert "submitted, under review" in page.text


def pay_app_figures(engine: Engine) -> int:
    """How many pay apps there are."""
    with Session(engine) as session:
        return len(list(session.exec(select(PayApp))))


class TestDraws:
    async def test_the_contact_bills_a_draw_and_a_billed_one_cannot_be_ticked(
        self,
        time_skipping_paydraw: Paydraw,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        env, api = time_skipping_paydraw.env, time_skipping_paydraw.api
        project = await post(api, "/api/v1/projects", admin, name="Harbor View Tower")
        commitment = await post(
            api,
            f"/api/v1/projects/{project['id']}/commitments",
            admin,
            number="SC-0000",
            vendor_name="Vendor 0",
            contacts=[{"name": "Clerk", "email": CONTACT}],
            sov_lines=[{"code": "01", "description": "Framing", "scheduled_value": "60000.00"}],
            draws=[
                {"name": "Draw 1 of 2: framing started", "amount": "20000"},
                {"name": "Draw 2 of 2: framing done", "amount": "40000"},
            ],
        )
        await post(api, f"/api/v1/commitments/{commitment['id']}/sov/approve", admin)
        period_id = await open_period(env, api, admin, project["id"], due_in_days=10)
        invites = f"/api/v1/billing-periods/{period_id}/invites"
        await post(api, invites, admin, commitment_ids=[commitment["id"]])
        await wait_for(lambda: len(messages_to(smtp, CONTACT)) == 1, what="the invite")
        token = contact_token(messages_to(smtp, CONTACT)[0])
        accept_key, _ = form_keys(await api.get("/contact", params={"token": token}))
        await api.post("/contact/accept", data={"token": token, "idempotency_key": accept_key})
        page = await api.get("/contact", params={"token": token})
        first, second = (draw["id"] for draw in commitment["draws"])
        assert "Draw 1 of 2: framing started: $20,000.00" in page.text

        form = pay_app_form(page, "bill-draws") | {"intent": "submit"}
        nothing = await api.post("/contact/pay-app", data=form)
        assert nothing.status_code == 422
        assert 'id="draws-error"' in nothing.text
        preview = await api.post("/contact/pay-app/preview", data=form | {f"draw-{first}": "yes"})
        assert 'id="preview-draws-total">$20,000.00<' in preview.text
        submitted = await api.post("/contact/pay-app", data=form | {f"draw-{first}": "yes"})
        assert submitted.status_code == 303, submitted.text

        page = await api.get("/contact", params={"token": token})
        assert "submitted, under review" in page.text
        assert 'id="bill-draws"' not in page.text
        headers = {"Authorization": f"Bearer {token}"}
        pay_app = (await api.get("/api/v1/contact/pay-app", headers=headers)).json()
        assert pay_app["entry_mode"] == "draws"
        assert pay_app["summary"]["total_completed_and_stored"] == "20000.00"
        invitation = (await api.get("/api/v1/contact/invitation", headers=headers)).json()
        assert [(draw["id"], draw["selected"]) for draw in invitation["draws"]] == [
            (first, True),
            (second, False),
        ]


class TestWhenBillingEnds:
    async def test_a_closed_period_offers_no_answer(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(time_skipping_env, process_settings, engine, smtp, admin) as case:
            await post(case.api, f"/api/v1/billing-periods/{case.period_id}/close", case.admin)

            page = await case.page()

            assert 'id="period-closed">closed<' in page.text
            assert "its invitation can no longer be answered" in page.text
            assert 'action="/contact/accept"' not in page.text
            assert 'action="/contact/decline"' not in page.text

    async def test_a_passed_due_date_offers_decline_and_no_billing(
        self,
        time_skipping_env: WorkflowEnvironment,
        process_settings: Settings,
        engine: Engine,
        smtp: SmtpTestServer,
        admin: dict[str, str],
    ) -> None:
        async with invited(time_skipping_env, process_settings, engine, smtp, admin) as case:
            accept_key, _ = form_keys(await case.page())
            due_date_passed(engine, case.period_id)

            page = await case.page()
            assert 'id="past-due">passed<' in page.text
            assert 'action="/contact/accept"' not in page.text
            assert 'action="/contact/decline"' in page.text
            assert "can no longer be accepted" in page.text

            due_date_passed(engine, case.period_id, days=-5)  # while the contact accepts
            data = {"token": case.token, "idempotency_key": accept_key}
            assert (await case.api.post("/contact/accept", data=data)).status_code == 303
            due_date_passed(engine, case.period_id)
            page = await case.page()
            assert 'id="bill"' not in page.text
            assert "The due date" in page.text and "has passed" in page.text
            assert 'id="cannot-bill"' in page.text


def due_date_passed(engine: Engine, period_id: str, days: int = 1) -> None:
    """Move the period's due date to `days` before today (after it, for a negative number),
    as if that time had gone by."""
    with Session(engine) as session:
        period = session.get(BillingPeriod, period_id)
        assert period is not None
        period.due_date = date.today() - timedelta(days=days)
        session.add(period)
        session.commit()


class TestEveryEmailLinkLandsOnItsPayApp:
    async def test_a_pay_app_billed_on_the_contacts_behalf_and_a_void_one(
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
            other = case.commitment_ids[1]  # never invited: the GC bills for it
            address = "billing@vendor-1.example"
            path = f"/api/v1/billing-periods/{case.period_id}/commitments/{other}/pay-apps"
            entry = {"mode": "contract_percent", "percent": "10"}
            first = await post(case.api, path, case.admin, entry=entry)
            await post(case.api, f"/api/v1/pay-apps/{first['id']}/submit", case.admin)
            framing = first["lines"][1]["sov_line_id"]
            reason = "Framing has not started"
            review = f"/api/v1/pay-apps/{first['id']}/review"
            lines = [{"sov_line_id": framing, "approved": False, "reason": reason}]
            await post(case.api, review, case.admin, decision="revise", lines=lines)
            await wait_for(lambda: bool(messages_to(smtp, address, "revise")), what="revise")

            page = await case.api.get(link_in(messages_to(smtp, address, "revise")[-1]))

            assert page.status_code == 200
            assert 'id="invitation-status">not invited<' in page.text
            assert "billed this billing period on your behalf" in page.text
            assert 'id="pay-app-status">sent back for changes<' in page.text
            assert f"(sent back): {reason}" in page.text
            assert 'action="/contact/accept"' not in page.text and 'id="bill"' not in page.text

            # Approved, voided and billed again: the link shows both, the new one first.
            await post(case.api, f"/api/v1/pay-apps/{first['id']}/submit", case.admin)
            await post(case.api, review, case.admin, decision="approve")
            void = f"/api/v1/pay-apps/{first['id']}/void"
            await post(case.api, void, case.admin, reason="Billed to the wrong subcontract")
            await post(case.api, path, case.admin, entry=entry)

            page = await case.api.get(link_in(messages_to(smtp, address, "revise")[-1]))

            assert page.status_code == 200
            assert page.text.index("pay application #2") < page.text.index("pay application #1")
            assert 'id="pay-app-status">a draft, not submitted yet<' in page.text
            assert 'id="pay-app-status-1">void<' in page.text
            assert "Voided: Billed to the wrong subcontract." in page.text
