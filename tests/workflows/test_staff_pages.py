"""The staff's pages, as a browser uses them: sign in from the emailed link, the review queue, the
pay-app page and its actions, with the session cookie and the forms' CSRF token. The API runs in
the test's event loop against the dev server, with a worker and a real SMTP server."""

import asyncio
import re
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from paydraw.db.tables import AuditEvent
from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    Paydraw,
    accept_invite,
    api_client,
    invited_period,
    messages_to,
    open_period,
    post,
    project_with_commitments,
    wait_for,
)

REVIEWER = "pm@gc.example"
VIEWER = "owner-rep@gc.example"
CONTACT = "billing@vendor-0.example"


def link_in(message: EmailMessage, pattern: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(pattern, str(body.get_content()))
    assert found is not None, body.get_content()
    return found[0]


def path_of(url: str) -> str:
    return url.removeprefix("http://paydraw.test")


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found[1]


async def signed_in_browser(
    paydraw: Paydraw, settings: Settings, engine: Engine, smtp: SmtpTestServer, email: str
) -> httpx.AsyncClient:
    """A browser of its own (its own cookies) that asked for a link, followed the email's link
    and pressed Sign in."""
    browser = api_client(paydraw.env, settings, engine)
    before = len(messages_to(smtp, email, "sign-in"))
    asked = await browser.post("/sign-in", data={"email": email, "next": "/queue"})
    assert asked.status_code == 200
    assert "Check your email" in asked.text
    await wait_for(lambda: len(messages_to(smtp, email, "sign-in")) > before, what="the link")
    link = path_of(link_in(messages_to(smtp, email, "sign-in")[-1], r"http://\S+/sign-in/\S+"))
    confirm = await browser.get(link)
    assert confirm.status_code == 200 and "Sign in" in confirm.text
    signed = await browser.post(link)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/queue"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "paydraw_session=" in cookie
    return browser


@dataclass(frozen=True)
class Pages:
    """Paydraw on the dev server for a page test, with what its browsers need."""

    paydraw: Paydraw
    settings: Settings
    engine: Engine
    smtp: SmtpTestServer

    async def sign_in(self, email: str) -> httpx.AsyncClient:
        return await signed_in_browser(self.paydraw, self.settings, self.engine, self.smtp, email)


@pytest.fixture
def pages(
    on_dev_server: Paydraw, process_settings: Settings, engine: Engine, smtp: SmtpTestServer
) -> Pages:
    return Pages(on_dev_server, process_settings, engine, smtp)


async def submitted_pay_app(
    paydraw: Paydraw, admin: dict[str, str], smtp: SmtpTestServer
) -> tuple[str, str, dict[str, str]]:
    """A project with a reviewer and a viewer, and a submitted pay app: its id and project id,
    and the contact's headers."""
    api = paydraw.api
    invited = await invited_period(paydraw.env, api, admin, smtp, due_in_days=20)
    project_id = invited.project_id
    for email, role in ((REVIEWER, "reviewer"), (VIEWER, "viewer")):
        await post(api, f"/api/v1/projects/{project_id}/members", admin, email=email, role=role)
    contact = await accept_invite(api, smtp, CONTACT)
    body = {"entry": {"mode": "contract_percent", "percent": "10"}}
    created = await api.put("/api/v1/contact/pay-app/lines", headers=contact, json=body)
    assert created.status_code in (200, 201), created.text
    await post(api, "/api/v1/contact/pay-app/submit", contact)
    return created.json()["id"], project_id, contact


class TestSignIn:
    async def test_the_emailed_link_signs_in_once_and_the_session_ends_at_sign_out(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        await post(api, "/api/v1/projects", admin, name="Harbor View Tower")
        signed_out = await api.get("/")
        assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/sign-in")

        browser = await pages.sign_in("ap@gc.example")
        home = await browser.get("/")
        assert home.headers["location"] == "/projects"
        projects = await browser.get("/projects")
        assert "Harbor View Tower" in projects.text and "admin" in projects.text

        # The same link again, from another browser: spent.
        link = path_of(
            link_in(
                messages_to(pages.smtp, "ap@gc.example", "sign-in")[-1], r"http://\S+/sign-in/\S+"
            )
        )
        again = await api_client(pages.paydraw.env, pages.settings, pages.engine).post(link)
        assert again.status_code == 401
        assert "used already" in again.text

        # Sign out without the form's token is refused; with it, the session is over.
        refused = await browser.post("/sign-out", data={})
        assert refused.status_code == 403
        assert (await browser.get("/projects")).status_code == 200
        out = await browser.post("/sign-out", data={"csrf_token": csrf_of(projects)})
        assert out.headers["location"] == "/sign-in"
        cookie = browser.cookies.get("paydraw_session")
        assert cookie is None
        with Session(pages.engine) as session:
            events = session.exec(select(AuditEvent).where(AuditEvent.action == "sign_in"))
            assert [event.actor for event in events] == ["user:ap@gc.example"]

    async def test_an_unknown_address_gets_the_same_answer_and_no_email(self, pages: Pages) -> None:
        answer = await pages.paydraw.api.post("/sign-in", data={"email": "who@else.example"})
        assert answer.status_code == 200
        assert "If who@else.example belongs to a Paydraw user" in answer.text
        bad = await pages.paydraw.api.post("/sign-in", data={"email": "not an address"})
        assert bad.status_code == 422
        assert "Enter the email you work with" in bad.text
        assert messages_to(pages.smtp, "who@else.example") == []

    async def test_a_link_past_its_minutes_is_refused(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        quick = pages.settings.model_copy(update={"sign_in_link_max_age_minutes": 0.02})
        browser = api_client(pages.paydraw.env, quick, pages.engine)
        await browser.post("/sign-in", data={"email": "ap@gc.example"})
        await wait_for(
            lambda: bool(messages_to(pages.smtp, "ap@gc.example", "sign-in")), what="link"
        )
        message = messages_to(pages.smtp, "ap@gc.example", "sign-in")[-1]
        assert "within 0.02 minutes" in link_in(message, r"within [\d.]+ minutes")
        link = path_of(link_in(message, r"http://\S+/sign-in/\S+"))
        await asyncio.sleep(2.5)  # the link's 1.2 seconds pass
        expired = await browser.post(link)
        assert expired.status_code == 401
        assert "expired" in expired.text
        forged = await browser.post(link[:-4] + "abcd")
        assert forged.status_code == 401
        assert "not valid" in forged.text


class TestThePayAppPage:
    async def test_the_reviewer_follows_the_email_signs_in_and_approves(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        pay_app_id, _, _ = await submitted_pay_app(pages.paydraw, admin, pages.smtp)
        await wait_for(
            lambda: bool(messages_to(pages.smtp, REVIEWER, "for review")), what="the review email"
        )
        review_link = link_in(
            messages_to(pages.smtp, REVIEWER, "for review")[-1], r"http://\S+/pay-apps/\S+"
        )
        assert path_of(review_link) == f"/pay-apps/{pay_app_id}"

        stranger = api_client(pages.paydraw.env, pages.settings, pages.engine)
        first = await stranger.get(path_of(review_link))
        assert first.status_code == 303
        assert first.headers["location"] == f"/sign-in?next=%2Fpay-apps%2F{pay_app_id}"

        reviewer = await pages.sign_in(REVIEWER)
        queue = await reviewer.get("/queue")
        assert f'href="/pay-apps/{pay_app_id}"' in queue.text
        page = await reviewer.get(f"/pay-apps/{pay_app_id}")
        assert page.status_code == 200
        assert "Under review" in page.text
        assert "8. Current payment due" in page.text and "$5,850.00" in page.text
        assert 'value="approve"' in page.text and 'value="finalize"' not in page.text

        no_token = await reviewer.post(f"/pay-apps/{pay_app_id}", data={"intent": "approve"})
        assert no_token.status_code == 403
        approved = await reviewer.post(
            f"/pay-apps/{pay_app_id}", data={"intent": "approve", "csrf_token": csrf_of(page)}
        )
        assert approved.status_code == 303
        after = await reviewer.get(f"/pay-apps/{pay_app_id}")
        assert "Approved" in after.text and 'value="approve"' not in after.text
        state = await pages.paydraw.api.get(f"/api/v1/pay-apps/{pay_app_id}", headers=admin)
        assert state.json()["status"] == "approved"

    async def test_the_admin_finalizes_with_a_confirm_and_pays_in_two_parts(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        pay_app_id, _, _ = await submitted_pay_app(pages.paydraw, admin, pages.smtp)
        review = {"decision": "approve"}
        await post(pages.paydraw.api, f"/api/v1/pay-apps/{pay_app_id}/review", admin, **review)
        browser = await pages.sign_in("ap@gc.example")
        page = await browser.get(f"/pay-apps/{pay_app_id}")
        form: dict[str, Any] = {"intent": "finalize", "csrf_token": csrf_of(page)}

        unconfirmed = await browser.post(f"/pay-apps/{pay_app_id}", data=form)
        assert unconfirmed.status_code == 422
        assert "tick the box to lock and certify it" in unconfirmed.text
        locked = await browser.post(f"/pay-apps/{pay_app_id}", data={**form, "confirm": "yes"})
        assert locked.status_code == 303

        certified = await browser.get(f"/pay-apps/{pay_app_id}")
        assert "Certified" in certified.text and "$5,850.00 is still due" in certified.text
        paid_on = date.today().isoformat()
        payment = {
            "intent": "pay",
            "csrf_token": csrf_of(certified),
            "method": "check",
            "paid_on": paid_on,
        }
        too_much = await browser.post(
            f"/pay-apps/{pay_app_id}", data={**payment, "amount": "9,999.00"}
        )
        assert too_much.status_code == 422
        assert "$5,850.00" in too_much.text or "5850.00" in too_much.text
        part = await browser.post(f"/pay-apps/{pay_app_id}", data={**payment, "amount": "$850.00"})
        assert part.status_code == 303
        partly = await browser.get(f"/pay-apps/{pay_app_id}")
        assert "Paid $850.00 so far; $5,000.00 still due." in partly.text
        rest = await browser.post(
            f"/pay-apps/{pay_app_id}", data={**payment, "amount": "5000.00", "reference": "1042"}
        )
        assert rest.status_code == 303
        paid = await browser.get(f"/pay-apps/{pay_app_id}")
        assert ">Paid<" in paid.text and 'value="pay"' not in paid.text
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        assert tomorrow not in paid.text

    async def test_a_viewer_sees_no_action_and_a_stranger_sees_nothing(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        pay_app_id, _, _ = await submitted_pay_app(pages.paydraw, admin, pages.smtp)
        viewer = await pages.sign_in(VIEWER)
        page = await viewer.get(f"/pay-apps/{pay_app_id}")
        assert page.status_code == 200 and "Under review" in page.text
        assert 'name="intent"' not in page.text
        posted = await viewer.post(
            f"/pay-apps/{pay_app_id}", data={"intent": "approve", "csrf_token": csrf_of(page)}
        )
        assert posted.status_code == 403
        assert "Your role on this project does not allow it" in posted.text

        await post(pages.paydraw.api, "/api/v1/projects", admin, name="Another")
        stranger_headers = {"email": "stranger@elsewhere.example", "role": "admin"}
        other_project = await post(
            pages.paydraw.api, "/api/v1/projects", admin, name="Somewhere else"
        )
        await post(
            pages.paydraw.api,
            f"/api/v1/projects/{other_project['id']}/members",
            admin,
            **stranger_headers,
        )
        stranger = await pages.sign_in("stranger@elsewhere.example")
        hidden = await stranger.get(f"/pay-apps/{pay_app_id}")
        assert hidden.status_code == 404
        assert "This pay application is not available" in hidden.text
        acted = await stranger.post(
            f"/pay-apps/{pay_app_id}",
            data={"intent": "approve", "csrf_token": csrf_of(hidden)},
        )
        assert acted.status_code == 404


class TestTheGcPages:
    async def test_a_viewer_sees_no_form_and_is_refused_a_post_a_stranger_gets_404(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
        members = f"/api/v1/projects/{project_id}/members"
        await post(api, members, admin, email=VIEWER, role="viewer")
        period_id = await open_period(pages.paydraw.env, api, admin, project_id, due_in_days=20)
        viewer = await pages.sign_in(VIEWER)
        for path in (
            f"/projects/{project_id}",
            f"/commitments/{commitment_id}",
            f"/billing-periods/{period_id}",
        ):
            shown = await viewer.get(path)
            assert shown.status_code == 200, path
            assert "Harbor View Tower" in shown.text
            assert shown.text.count('method="post"') == 1  # sign out, nothing else
        board = await viewer.get(f"/billing-periods/{period_id}")
        assert 'name="commitment_id"' not in board.text
        posted = await viewer.post(
            f"/billing-periods/{period_id}/invites",
            data={"commitment_id": commitment_id, "csrf_token": csrf_of(board)},
        )
        assert posted.status_code == 403
        assert "Your role on this project does not allow it" in posted.text
        rows = (await api.get(f"/api/v1/billing-periods/{period_id}", headers=admin)).json()
        assert rows["counts"]["invited"] == 0

        other = await post(api, "/api/v1/projects", admin, name="Somewhere else")
        await post(
            api, f"/api/v1/projects/{other['id']}/members", admin, email="s@x.example", role="admin"
        )
        stranger = await pages.sign_in("s@x.example")
        for path in (
            f"/projects/{project_id}",
            f"/commitments/{commitment_id}",
            f"/billing-periods/{period_id}",
        ):
            assert (await stranger.get(path)).status_code == 404, path
        mine = await stranger.get(f"/projects/{other['id']}")
        sneaked = await stranger.post(
            f"/billing-periods/{period_id}/close",
            data={"confirm": "yes", "csrf_token": csrf_of(mine)},
        )
        assert sneaked.status_code == 404

    async def test_the_admin_s_forms_need_the_session_s_csrf_token(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
        period_id = await open_period(pages.paydraw.env, api, admin, project_id, due_in_days=20)
        browser = await pages.sign_in("ap@gc.example")
        another = await pages.sign_in("ap@gc.example")
        others_token = csrf_of(await another.get("/projects"))
        for token in ("", others_token):
            sent = await browser.post(
                f"/billing-periods/{period_id}/invites",
                data={"commitment_id": commitment_id, "csrf_token": token},
            )
            assert sent.status_code == 403
            closed = await browser.post(
                f"/billing-periods/{period_id}/close", data={"confirm": "yes", "csrf_token": token}
            )
            assert closed.status_code == 403
        board = (await api.get(f"/api/v1/billing-periods/{period_id}", headers=admin)).json()
        assert board["period"]["status"] == "open" and board["counts"]["invited"] == 0
        page = await browser.get(f"/billing-periods/{period_id}")
        sent = await browser.post(
            f"/billing-periods/{period_id}/invites",
            data={"commitment_id": commitment_id, "csrf_token": csrf_of(page)},
        )
        assert sent.status_code == 200
        assert "1 invited." in sent.text


class TestApiKeys:
    async def test_a_key_made_on_the_page_calls_the_api_until_it_is_revoked(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        project = await post(api, "/api/v1/projects", admin, name="Harbor View Tower")
        members = f"/api/v1/projects/{project['id']}/members"
        await post(api, members, admin, email=VIEWER, role="viewer")
        browser = await pages.sign_in("ap@gc.example")
        keys = await browser.get("/api-keys")
        made = await browser.post("/api-keys", data={"csrf_token": csrf_of(keys)})
        found = re.search(r'<pre id="key">(pd_[^<]+)</pre>', made.text)
        assert found is not None
        program = {"Authorization": f"Bearer {found[1]}"}
        listed = await api.get("/api/v1/projects", headers=program)
        assert [p["name"] for p in listed.json()["items"]] == ["Harbor View Tower"]

        shown = await browser.get("/api-keys")
        assert found[1] not in shown.text  # shown once only
        key_id = re.search(r'action="/api-keys/([^/"]+)/revoke"', made.text)
        assert key_id is not None
        revoked = await browser.post(
            f"/api-keys/{key_id[1]}/revoke", data={"csrf_token": csrf_of(shown)}
        )
        assert revoked.status_code == 303
        assert (await api.get("/api/v1/projects", headers=program)).status_code == 401

        other = await pages.sign_in(VIEWER)
        page = await other.get("/api-keys")
        assert "pd_" not in page.text
        stolen = await other.post(
            f"/api-keys/{key_id[1]}/revoke", data={"csrf_token": csrf_of(page)}
        )
        assert stolen.status_code == 404


class TestTheBoardAndTheHistory:
    async def test_the_admin_extends_a_due_date_and_the_commitment_s_history_says_so(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        invited = await invited_period(pages.paydraw.env, api, admin, pages.smtp, due_in_days=20)
        [commitment_id] = invited.commitment_ids
        browser = await pages.sign_in("ap@gc.example")
        board = await browser.get(f"/billing-periods/{invited.period_id}")
        assert "Extend a due date" in board.text
        path = f"/billing-periods/{invited.period_id}/extend-due-date"
        later = (date.today() + timedelta(days=40)).isoformat()
        form = {"commitment_id": commitment_id, "csrf_token": csrf_of(board)}

        earlier = await browser.post(path, data={**form, "due_date": date.today().isoformat()})
        assert earlier.status_code == 422
        assert "must be after the current due date" in earlier.text
        extended = await browser.post(path, data={**form, "due_date": later})
        assert extended.status_code == 303
        rows = (await api.get(f"/api/v1/billing-periods/{invited.period_id}", headers=admin)).json()
        assert rows["rows"][0]["due_date"] == later

        page = await browser.get(f"/commitments/{commitment_id}")
        history = page.text[page.text.index("<h2>History</h2>") :]
        said = [
            "ap@gc.example approved the schedule of values",
            "ap@gc.example invited them to bill",
            "ap@gc.example extended the due date",
        ]
        positions = [history.index(line) for line in said]
        assert positions == sorted(positions)

    async def test_the_admin_adds_and_approves_change_orders_on_the_commitment_page(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        _, [commitment_id] = await project_with_commitments(api, admin, 1)
        detail = (await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)).json()
        framing = next(line["id"] for line in detail["sov_lines"] if line["code"] == "02")
        browser = await pages.sign_in("ap@gc.example")
        path = f"/commitments/{commitment_id}"
        page = await browser.get(path)
        base = {"csrf_token": csrf_of(page), "co-line-0": framing}

        nothing = await browser.post(f"{path}/change-orders", data={**base, "co-number": "CO-1"})
        assert nothing.status_code == 422
        assert "lines" in nothing.text
        added = await browser.post(
            f"{path}/change-orders",
            data={**base, "co-number": "CO-1", "co-title": "Extra framing", "co-amount-0": "5,000"},
        )
        assert added.status_code == 303
        pending = await browser.post(
            f"{path}/change-orders",
            data={
                **base,
                "co-number": "CO-2",
                "co-status": "pending",
                "co-line-0": "new",
                "co-code-0": "03",
                "co-description-0": "Extras",
                "co-amount-0": "2000",
            },
        )
        assert pending.status_code == 303
        shown = await browser.get(path)
        assert 'Contract sum to date</td><td class="money">$70,000.00' in shown.text
        [co_2] = [
            co["id"]
            for co in (await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)).json()[
                "change_orders"
            ]
            if co["number"] == "CO-2"
        ]
        approved = await browser.post(
            f"{path}/change-orders/{co_2}/approve", data={"csrf_token": csrf_of(shown)}
        )
        assert approved.status_code == 303
        after = await browser.get(path)
        assert 'Contract sum to date</td><td class="money">$72,000.00' in after.text
        assert "03</td><td>Extras" in after.text

    async def test_the_admin_changes_the_project_s_settings_on_its_page(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        project_id, _ = await project_with_commitments(api, admin, 1)
        browser = await pages.sign_in("ap@gc.example")
        page = await browser.get(f"/projects/{project_id}")
        form = {
            "csrf_token": csrf_of(page),
            "default_retainage_percent": "5%",
            "overbilling_policy": "warn",
            "reminder_offsets_days": "10, 3",
            "terminology": "owner",
            "currency": "cad",
        }
        bad = await browser.post(
            f"/projects/{project_id}/settings", data={**form, "currency": "zz"}
        )
        assert bad.status_code == 422
        assert "Please check currency" in bad.text
        saved = await browser.post(f"/projects/{project_id}/settings", data=form)
        assert saved.status_code == 303
        project = (await api.get(f"/api/v1/projects/{project_id}", headers=admin)).json()
        assert project["overbilling_policy"] == "warn"
        assert project["reminder_offsets_days"] == [10, 3]
        assert project["terminology"] == "owner"
        assert project["currency"] == "CAD"
        shown = await browser.get(f"/projects/{project_id}")
        assert "CA$" in shown.text  # amounts now in the project's currency

    async def test_the_admin_bills_for_a_commitment_from_the_board_and_submits_it(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
        period_id = await open_period(pages.paydraw.env, api, admin, project_id, due_in_days=20)
        detail = (await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)).json()
        framing = next(line["id"] for line in detail["sov_lines"] if line["code"] == "02")
        browser = await pages.sign_in("ap@gc.example")
        board = await browser.get(f"/billing-periods/{period_id}")
        path = f"/billing-periods/{period_id}/commitments/{commitment_id}/pay-app"
        assert f'href="{path}"' in board.text
        form_page = await browser.get(path)
        assert form_page.status_code == 200 and "Bill for SC-0000 Vendor 0" in form_page.text
        form = {"csrf_token": csrf_of(form_page), f"work-{framing}": "61000"}
        over = await browser.post(path, data=form)
        assert over.status_code == 422
        assert "60000.00" in over.text  # what is billable, named on the page
        made = await browser.post(path, data={**form, f"work-{framing}": "6,000"})
        assert made.status_code == 303
        pay_app_page = await browser.get(made.headers["location"])
        assert "Draft" in pay_app_page.text and "$6,000.00" in pay_app_page.text
        submitted = await browser.post(
            made.headers["location"],
            data={"intent": "submit", "csrf_token": csrf_of(pay_app_page)},
        )
        assert submitted.status_code == 303
        after = await browser.get(made.headers["location"])
        assert "Under review" in after.text
