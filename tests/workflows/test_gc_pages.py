"""The GC's and the reviewer's pages beyond the first journey: a draft SOV created and edited on
the commitment page, credits, the monthly billing cycle in the settings, a draft's amounts
changed on the pay-app page, the board's amounts, and the history of a period and a project.
Each action goes through the same service or workflow update as the API, which the tests read
back; a viewer sees no form and is refused a post."""

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import ScheduleHandle
from temporalio.service import RPCError

from paydraw.settings import Settings
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    Paydraw,
    invited_period,
    open_period,
    post,
    project_with_commitments,
)
from tests.workflows.test_staff_pages import VIEWER, Pages, csrf_of, submitted_pay_app
from workflows.monthly_cycle import schedule_id

ADMIN = "ap@gc.example"


@pytest.fixture
def pages(
    on_dev_server: Paydraw, process_settings: Settings, engine: Engine, smtp: SmtpTestServer
) -> Pages:
    return Pages(on_dev_server, process_settings, engine, smtp)


async def read(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    response = await api.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def with_viewer(pages: Pages, admin: dict[str, str], project_id: str) -> httpx.AsyncClient:
    await post(
        pages.paydraw.api,
        f"/api/v1/projects/{project_id}/members",
        admin,
        email=VIEWER,
        role="viewer",
    )
    return await pages.sign_in(VIEWER)


def sov_of(commitment: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (line["code"], line["description"], line["scheduled_value"])
        for line in commitment["sov_lines"]
    ]


class TestTheScheduleOfValues:
    async def test_the_admin_creates_edits_and_approves_a_draft_sov_on_its_page(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        project = await post(api, "/api/v1/projects", admin, name="Harbor View Tower")
        created = await post(
            api,
            f"/api/v1/projects/{project['id']}/commitments",
            admin,
            number="SC-001",
            vendor_name="Acme Framing LLC",
        )
        path = f"/commitments/{created['id']}"
        browser = await pages.sign_in(ADMIN)
        page = await browser.get(path)
        assert "Create the schedule of values" in page.text
        assert "Approve the schedule of values" not in page.text  # nothing to approve yet
        token = csrf_of(page)

        made = await browser.post(
            f"{path}/sov",
            data={
                "csrf_token": token,
                "sov_rows": "3",
                "sov-code-0": "01",
                "sov-description-0": "Mobilization",
                "sov-value-0": "$5,000",
                "sov-code-1": "02",
                "sov-description-1": "Framing",
                "sov-value-1": "60000",
            },
        )
        assert made.status_code == 303
        commitment = await read(api, f"/api/v1/commitments/{created['id']}", admin)
        assert sov_of(commitment) == [
            ("01", "Mobilization", "5000.00"),
            ("02", "Framing", "60000.00"),
        ]

        page = await browser.get(path)
        assert "Edit the schedule of values" in page.text
        assert 'name="sov_rows" value="5"' in page.text  # two lines and three blank rows
        edit = {
            "csrf_token": token,
            "sov_rows": "5",
            "sov-code-0": "01",
            "sov-description-0": "Mobilization",
            "sov-value-0": "5000.00",
            "sov-code-1": "02",
            "sov-description-1": "Framing",
            "sov-value-1": "60000.00",
            "sov-remove-1": "yes",
            "sov-code-2": "03",
            "sov-description-2": "Windows",
            "sov-value-2": "35,000.00",
        }
        refused = await browser.post(f"{path}/sov", data={**edit, "sov-value-2": "lots"})
        assert refused.status_code == 422
        assert "Please check sov_lines.1.scheduled_value" in refused.text
        assert 'value="lots"' in refused.text  # what was typed is kept
        unchanged = await read(api, f"/api/v1/commitments/{created['id']}", admin)
        assert sov_of(unchanged) == sov_of(commitment)

        edited = await browser.post(f"{path}/sov", data=edit)
        assert edited.status_code == 303
        commitment = await read(api, f"/api/v1/commitments/{created['id']}", admin)
        assert sov_of(commitment) == [
            ("01", "Mobilization", "5000.00"),
            ("03", "Windows", "35000.00"),
        ]

        viewer = await with_viewer(pages, admin, project["id"])
        seen = await viewer.get(path)
        assert "Windows" in seen.text and 'action="' + path + '/sov"' not in seen.text
        sneaked = await viewer.post(f"{path}/sov", data={**edit, "csrf_token": csrf_of(seen)})
        assert sneaked.status_code == 403
        assert sov_of(await read(api, f"/api/v1/commitments/{created['id']}", admin)) == sov_of(
            commitment
        )

        page = await browser.get(path)
        approved = await browser.post(f"{path}/sov/approve", data={"csrf_token": token})
        assert approved.status_code == 303
        after = await browser.get(path)
        assert "approved</span>" in after.text
        assert f'action="{path}/sov"' not in after.text  # only change orders change it now
        assert 'Contract sum to date</td><td class="money">$40,000.00' in after.text
        late = await browser.post(f"{path}/sov", data=edit)
        assert late.status_code == 409
        assert "approved" in late.text


class TestCredits:
    async def test_the_admin_adds_a_credit_and_sees_it_listed_with_the_balance(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
        path = f"/commitments/{commitment_id}"
        browser = await pages.sign_in(ADMIN)
        page = await browser.get(path)
        assert "No credits." in page.text
        form = {"csrf_token": csrf_of(page), "credit-memo": "Deposit on signing"}

        nothing = await browser.post(f"{path}/credits", data={**form, "credit-amount": "0"})
        assert nothing.status_code == 422
        assert "Please check amount" in nothing.text
        added = await browser.post(f"{path}/credits", data={**form, "credit-amount": "$5,000"})
        assert added.status_code == 303
        summary = await read(api, f"/api/v1/commitments/{commitment_id}/billing-summary", admin)
        assert summary["credit_balance"] == "5000.00"

        shown = await browser.get(path)
        credits = shown.text[shown.text.index('<section id="credits">') :]
        assert "Credit balance: <strong>$5,000.00</strong>" in credits
        assert '<td class="money">$5,000.00</td><td>Deposit on signing</td>' in credits
        assert f"<td>{ADMIN}</td>" in credits
        assert "added a credit: Deposit on signing" in shown.text  # in its history too

        viewer = await with_viewer(pages, admin, project_id)
        seen = await viewer.get(path)
        assert "$5,000.00" in seen.text and "Add a credit" not in seen.text
        sneaked = await viewer.post(
            f"{path}/credits", data={"csrf_token": csrf_of(seen), "credit-amount": "100"}
        )
        assert sneaked.status_code == 403
        summary = await read(api, f"/api/v1/commitments/{commitment_id}/billing-summary", admin)
        assert summary["credit_balance"] == "5000.00"


async def schedule_exists(handle: ScheduleHandle) -> bool:
    try:
        await handle.describe()
    except RPCError:
        return False
    return True


class TestTheMonthlyCycleSetting:
    async def test_the_admin_turns_the_monthly_cycle_on_and_off_in_the_settings(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        project_id, _ = await project_with_commitments(api, admin, 1)
        browser = await pages.sign_in(ADMIN)
        page = await browser.get(f"/projects/{project_id}")
        assert "Monthly billing cycle" in page.text and "monthly cycle off" in page.text
        form = {
            "csrf_token": csrf_of(page),
            "default_retainage_percent": "10",
            "overbilling_policy": "block",
            "stored_materials_rollover": "yes",
            "reminder_offsets_days": "7, 1",
            "terminology": "general_contractor",
            "currency": "USD",
            "cycle_enabled": "yes",
            "cycle_start_day": "3",
            "cycle_due_day": "20",
        }
        schedule = pages.paydraw.env.client.get_schedule_handle(schedule_id(project_id))

        bad = await browser.post(
            f"/projects/{project_id}/settings", data={**form, "cycle_due_day": "31"}
        )
        assert bad.status_code == 422
        assert "Please check due_day" in bad.text
        assert not await schedule_exists(schedule)

        saved = await browser.post(f"/projects/{project_id}/settings", data=form)
        assert saved.status_code == 303
        project = await read(api, f"/api/v1/projects/{project_id}", admin)
        assert project["billing_cycle"] == {"enabled": True, "start_day": 3, "due_day": 20}
        described = await schedule.describe()
        [calendar] = described.schedule.spec.calendars
        assert [(day.start, day.end) for day in calendar.day_of_month] == [(3, 3)]
        shown = await browser.get(f"/projects/{project_id}")
        assert "monthly cycle on (opens on day 3, due on day 20)" in shown.text

        del form["cycle_enabled"], form["stored_materials_rollover"]
        off = await browser.post(f"/projects/{project_id}/settings", data=form)
        assert off.status_code == 303
        project = await read(api, f"/api/v1/projects/{project_id}", admin)
        assert project["billing_cycle"]["enabled"] is False
        assert project["stored_materials_rollover"] is False
        assert not await schedule_exists(schedule)

        viewer = await with_viewer(pages, admin, project_id)
        seen = await viewer.get(f"/projects/{project_id}")
        assert "Monthly billing cycle" not in seen.text
        sneaked = await viewer.post(
            f"/projects/{project_id}/settings",
            data={**form, "csrf_token": csrf_of(seen), "cycle_enabled": "yes"},
        )
        assert sneaked.status_code == 403
        assert not await schedule_exists(schedule)


class TestADraftsAmounts:
    async def test_the_admin_changes_a_draft_s_lines_on_its_page(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
        period_id = await open_period(pages.paydraw.env, api, admin, project_id, due_in_days=20)
        detail = await read(api, f"/api/v1/commitments/{commitment_id}", admin)
        framing = next(line["id"] for line in detail["sov_lines"] if line["code"] == "02")
        body = {
            "entry": {
                "mode": "per_line_amounts",
                "lines": [{"sov_line_id": framing, "work_this_period": "6000.00"}],
            }
        }
        created = await api.post(
            f"/api/v1/billing-periods/{period_id}/commitments/{commitment_id}/pay-apps",
            json=body,
            headers=admin,
        )
        assert created.status_code == 201, created.text
        pay_app_id = created.json()["id"]
        browser = await pages.sign_in(ADMIN)
        page = await browser.get(f"/pay-apps/{pay_app_id}")
        assert f'href="/pay-apps/{pay_app_id}/lines">Change the amounts</a>' in page.text
        page = await browser.get(f"/pay-apps/{pay_app_id}/lines")
        assert f'name="work-{framing}" value="6000.00"' in page.text
        form = {"csrf_token": csrf_of(page), "intent": "edit_lines", f"work-{framing}": "61,000"}

        over = await browser.post(f"/pay-apps/{pay_app_id}", data=form)
        assert over.status_code == 422
        assert "60000.00" in over.text  # what is billable, named on the page
        assert 'value="61,000"' in over.text  # what was typed is kept
        changed = await browser.post(
            f"/pay-apps/{pay_app_id}",
            data={**form, f"work-{framing}": "$7,500", f"stored-{framing}": "1000"},
        )
        assert changed.status_code == 303
        state = await read(api, f"/api/v1/pay-apps/{pay_app_id}", admin)
        line = next(line for line in state["lines"] if line["sov_line_id"] == framing)
        assert (line["this_period"], line["materials_stored"]) == ("7500.00", "1000.00")
        assert state["summary"]["total_completed_and_stored"] == "8500.00"

        viewer = await with_viewer(pages, admin, project_id)
        seen = await viewer.get(f"/pay-apps/{pay_app_id}")
        assert "Change the amounts" not in seen.text
        seen = await viewer.get(f"/pay-apps/{pay_app_id}/lines")
        assert seen.status_code == 200 and 'name="intent"' not in seen.text
        sneaked = await viewer.post(
            f"/pay-apps/{pay_app_id}", data={**form, "csrf_token": csrf_of(seen)}
        )
        assert sneaked.status_code == 403

        submitted = await browser.post(
            f"/pay-apps/{pay_app_id}", data={"csrf_token": csrf_of(page), "intent": "submit"}
        )
        assert submitted.status_code == 303
        under_review = await browser.get(f"/pay-apps/{pay_app_id}")
        assert "Change the amounts" not in under_review.text  # the state no longer allows it
        assert 'value="edit_lines"' not in (await browser.get(f"/pay-apps/{pay_app_id}/lines")).text
        late = await browser.post(
            f"/pay-apps/{pay_app_id}", data={**form, f"work-{framing}": "100"}
        )
        assert late.status_code == 409
        state = await read(api, f"/api/v1/pay-apps/{pay_app_id}", admin)
        assert state["summary"]["total_completed_and_stored"] == "8500.00"


class TestTheBoardAndHistories:
    async def test_the_board_shows_each_row_s_amounts(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        pay_app_id, _, _ = await submitted_pay_app(pages.paydraw, admin, pages.smtp)
        state = await read(api, f"/api/v1/pay-apps/{pay_app_id}", admin)
        period_id = state["period_id"]
        browser = await pages.sign_in(ADMIN)

        board = await browser.get(f"/billing-periods/{period_id}")
        # Submitted, not certified: this period's amount shows, nothing is billed to date yet.
        assert row_amounts(board.text, "SC-0000") == [
            "$65,000.00",
            "$0.00",
            "$6,500.00",
            "$0.00",
            "$65,000.00",
        ]
        await post(api, f"/api/v1/pay-apps/{pay_app_id}/review", admin, decision="approve")
        await post(api, f"/api/v1/pay-apps/{pay_app_id}/finalize", admin)
        board = await browser.get(f"/billing-periods/{period_id}")
        assert row_amounts(board.text, "SC-0000") == [
            "$65,000.00",
            "$6,500.00",
            "$6,500.00",
            "$650.00",
            "$58,500.00",
        ]
        rows = await read(api, f"/api/v1/billing-periods/{period_id}", admin)
        [row] = rows["rows"]
        summary = await read(
            api, f"/api/v1/commitments/{row['commitment_id']}/billing-summary", admin
        )
        assert (row["billed_to_date"], row["retainage"], row["balance_to_finish"]) == (
            summary["billed_to_date"],
            summary["retainage_balance"],
            summary["balance_to_finish"],
        )
        assert (row["scheduled_value"], row["this_period"]) == ("65000.00", "6500.00")

    async def test_the_board_and_the_project_page_tell_their_history(
        self, pages: Pages, admin: dict[str, str]
    ) -> None:
        api = pages.paydraw.api
        invited = await invited_period(pages.paydraw.env, api, admin, pages.smtp, due_in_days=20)
        [commitment_id] = invited.commitment_ids
        viewer = await with_viewer(pages, admin, invited.project_id)

        board = await viewer.get(f"/billing-periods/{invited.period_id}")
        history = board.text[board.text.index('<section id="history">') :]
        assert f'<a href="/commitments/{commitment_id}">SC-0000 Vendor 0</a>: ' in history
        assert f"{ADMIN} invited them to bill" in history
        assert "approved the schedule of values" not in history  # not the period's

        project = await viewer.get(f"/projects/{invited.project_id}")
        history = project.text[project.text.index('<section id="history">') :]
        said = [
            f"{ADMIN} created the commitment",
            f"{ADMIN} approved the schedule of values",
            f"{ADMIN} invited them to bill",
        ]
        positions = [history.index(line) for line in said]
        assert positions == sorted(positions)
        assert f'<a href="/commitments/{commitment_id}">SC-0000 Vendor 0</a>: ' in history


def row_amounts(html: str, number: str) -> list[str]:
    """The five amounts of the board's row for commitment ``number``."""
    row = html[html.index(f">{number}</a>") :]
    row = row[: row.index("</tr>")]
    return re.findall(r'<td class="money">([^<]*)</td>', row)
