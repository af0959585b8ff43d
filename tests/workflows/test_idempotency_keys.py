"""An Idempotency-Key belongs to its caller and its request: another caller's use of the same key
is an action of its own, and the same caller reusing it for another request is refused."""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from api import process
from tests.conftest import new_user_headers
from tests.support.smtp import SmtpTestServer
from tests.workflows.helpers import (
    SOV,
    Paydraw,
    accept_invite,
    contact_token,
    invited_period,
    messages_to,
    open_period,
    post,
    project_with_commitments,
    today,
    wait_for,
    writes_held,
)

ANN, BOB = "ann@framing.example", "bob@framing.example"
KEY = {"Idempotency-Key": "K-1"}


async def commitment_with_two_contacts(
    api: httpx.AsyncClient, admin: dict[str, str], project_id: str
) -> str:
    commitment = await post(
        api,
        f"/api/v1/projects/{project_id}/commitments",
        admin,
        number="SC-2",
        vendor_name="Acme Framing",
        contacts=[{"name": "Ann", "email": ANN}, {"name": "Bob", "email": BOB}],
        sov_lines=SOV,
    )
    await post(api, f"/api/v1/commitments/{commitment['id']}/sov/approve", admin)
    commitment_id: str = commitment["id"]
    return commitment_id


def bearer(smtp: SmtpTestServer, address: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {contact_token(messages_to(smtp, address)[-1])}"}


def lines(first_line_id: str, work: str) -> dict[str, Any]:
    return {
        "entry": {
            "mode": "per_line_amounts",
            "lines": [{"sov_line_id": first_line_id, "work_this_period": work}],
        }
    }


class TestAKeyBelongsToItsCaller:
    async def test_two_contacts_of_one_commitment_answer_with_the_same_key(
        self, on_dev_server: Paydraw, smtp: SmtpTestServer, admin: dict[str, str]
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        project_id, _ = await project_with_commitments(api, admin, 0)
        commitment_id = await commitment_with_two_contacts(api, admin, project_id)
        period_id = await open_period(env, api, admin, project_id, due_in_days=14)
        await post(
            api,
            f"/api/v1/billing-periods/{period_id}/invites",
            admin,
            commitment_ids=[commitment_id],
        )
        await wait_for(
            lambda: messages_to(smtp, ANN) and messages_to(smtp, BOB), what="both invites"
        )

        ann = await api.post("/api/v1/contact/invitation/accept", headers=bearer(smtp, ANN) | KEY)
        bob = await api.post(
            "/api/v1/contact/invitation/decline",
            json={"reason": "We have not started yet"},
            headers=bearer(smtp, BOB) | KEY,
        )

        assert ann.status_code == 200 and ann.json()["status"] == "accepted"
        # Bob's decline is his own action: the invitation is already accepted, so it is refused,
        # not answered with Ann's acceptance.
        assert bob.status_code == 409, bob.text
        assert bob.json()["status"] == "accepted"

    async def test_two_admins_invite_different_commitments_with_the_same_key(
        self, on_dev_server: Paydraw, engine: Engine, smtp: SmtpTestServer, admin: dict[str, str]
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        project_id, ids = await project_with_commitments(api, admin, 4)
        await post(
            api,
            f"/api/v1/projects/{project_id}/members",
            admin,
            email="ap2@gc.example",
            role="admin",
        )
        second_admin = new_user_headers(engine, "ap2@gc.example")
        period_id = await open_period(env, api, admin, project_id, due_in_days=14)
        invites = f"/api/v1/billing-periods/{period_id}/invites"

        first = await api.post(invites, json={"commitment_ids": ids[:2]}, headers=admin | KEY)
        second = await api.post(
            invites, json={"commitment_ids": ids[2:]}, headers=second_admin | KEY
        )

        assert sorted(first.json()["invited"]) == sorted(ids[:2])
        assert sorted(second.json()["invited"]) == sorted(ids[2:])
        await wait_for(lambda: len(smtp.received) == 4, what="four invites")
        board = (await api.get(f"/api/v1/billing-periods/{period_id}", headers=admin)).json()
        assert board["counts"]["invited"] == 4

    async def test_a_reviewer_approves_with_the_key_an_admin_submitted_with(
        self, on_dev_server: Paydraw, engine: Engine, admin: dict[str, str]
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
        await post(
            api,
            f"/api/v1/projects/{project_id}/members",
            admin,
            email="pm@gc.example",
            role="reviewer",
        )
        reviewer = new_user_headers(engine, "pm@gc.example")
        period_id = await open_period(env, api, admin, project_id, due_in_days=14)
        commitment = (await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)).json()
        created = await post(
            api,
            f"/api/v1/billing-periods/{period_id}/commitments/{commitment_id}/pay-apps",
            admin,
            **lines(commitment["sov_lines"][0]["id"], "1000.00"),
        )
        pay_app = f"/api/v1/pay-apps/{created['id']}"

        submitted = await api.post(f"{pay_app}/submit", headers=admin | KEY)
        approved = await api.post(
            f"{pay_app}/review", json={"decision": "approve"}, headers=reviewer | KEY
        )

        assert submitted.status_code == 200 and submitted.json()["status"] == "under_review"
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"


class TestAKeyBelongsToItsRequest:
    async def test_the_same_key_for_other_lines_is_refused_and_changes_nothing(
        self, on_dev_server: Paydraw, admin: dict[str, str]
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
        period_id = await open_period(env, api, admin, project_id, due_in_days=14)
        commitment = (await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)).json()
        line_id = commitment["sov_lines"][0]["id"]
        created = await post(
            api,
            f"/api/v1/billing-periods/{period_id}/commitments/{commitment_id}/pay-apps",
            admin,
            **lines(line_id, "50.00"),
        )
        pay_app = f"/api/v1/pay-apps/{created['id']}"

        first = await api.put(
            f"{pay_app}/lines", json=lines(line_id, "100.00"), headers=admin | KEY
        )
        again = await api.put(
            f"{pay_app}/lines", json=lines(line_id, "100.00"), headers=admin | KEY
        )
        other = await api.put(
            f"{pay_app}/lines", json=lines(line_id, "700.00"), headers=admin | KEY
        )
        notes = await api.patch(pay_app, json={"notes": "Invoice 17"}, headers=admin | KEY)

        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        for refused in (other, notes):
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"] == [
                {"field": "Idempotency-Key", "reason": "was already used for a different request"}
            ]
        shown = (await api.get(pay_app, headers=admin)).json()
        assert shown["summary"]["total_completed_and_stored"] == "100.00"
        assert shown["notes"] == ""


class TestTheContactsFirstLines:
    async def test_create_answers_201_on_a_repeat_too_and_an_edit_200(
        self, on_dev_server: Paydraw, smtp: SmtpTestServer, admin: dict[str, str]
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        period = await invited_period(env, api, admin, smtp, due_in_days=14)
        [commitment_id] = period.commitment_ids
        contact = await accept_invite(api, smtp, period.contacts[0])
        commitment = (await api.get(f"/api/v1/commitments/{commitment_id}", headers=admin)).json()
        line_id = commitment["sov_lines"][0]["id"]
        path = "/api/v1/contact/pay-app/lines"

        first = await api.put(path, json=lines(line_id, "100.00"), headers=contact | KEY)
        again = await api.put(path, json=lines(line_id, "100.00"), headers=contact | KEY)
        edit = await api.put(path, json=lines(line_id, "200.00"), headers=contact)

        assert first.status_code == again.status_code == 201, first.text
        assert again.json() == first.json()
        assert edit.status_code == 200, edit.text
        assert edit.json()["id"] == first.json()["id"]


SentTwice = Callable[..., Awaitable[tuple[httpx.Response, httpx.Response]]]


@pytest.fixture
def held_up(
    on_dev_server: Paydraw,
    engine: Engine,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> SentTwice:
    """Send the admin's request with a key while the database holds the writes to ``tables``
    and the API waits half a second for the workflow; once ``finished`` holds, send it again
    with the same key. The two answers."""

    async def sent_twice(
        path: str,
        body: dict[str, Any] | None,
        tables: tuple[str, ...],
        finished: Callable[[], bool | Awaitable[bool]],
        what: str,
    ) -> tuple[httpx.Response, httpx.Response]:
        api = on_dev_server.api
        with writes_held(engine, *tables), waiting_briefly(monkeypatch):
            first = await api.post(path, json=body, headers=admin | KEY)
        await wait_for(finished, what=what)
        again = await api.post(path, json=body, headers=admin | KEY)
        return first, again

    return sent_twice


async def invites_of_a_new_period(
    paydraw: Paydraw, admin: dict[str, str], count: int
) -> tuple[list[str], str]:
    """``count`` commitments of a new project, and the invites path of its open period."""
    env, api = paydraw.env, paydraw.api
    project_id, ids = await project_with_commitments(api, admin, count)
    period_id = await open_period(env, api, admin, project_id, due_in_days=14)
    return ids, f"/api/v1/billing-periods/{period_id}/invites"


class TestAResendAfterA504GetsTheFirstAnswer:
    """A step held up past the API's wait answers 504 and goes on; once it has finished, the
    same request with the same key gets the answer the first would have had, not a refusal
    of what the first did."""

    async def test_an_invite_of_several(
        self,
        on_dev_server: Paydraw,
        smtp: SmtpTestServer,
        admin: dict[str, str],
        held_up: SentTwice,
    ) -> None:
        ids, invites = await invites_of_a_new_period(on_dev_server, admin, 3)
        body = {"commitment_ids": [*ids, "cmt_nope"]}

        first, again = await held_up(
            invites, body, ("invitations",), lambda: len(smtp.received) == 3, "three invites"
        )

        assert first.status_code == 504, first.text
        assert again.status_code == 200, again.text
        assert sorted(again.json()["invited"]) == sorted(ids)
        assert again.json()["refused"] == [
            {"commitment_id": "cmt_nope", "reason": "no such commitment on this project"}
        ]
        assert len(smtp.received) == 3

    async def test_an_invite_of_one(
        self,
        on_dev_server: Paydraw,
        smtp: SmtpTestServer,
        admin: dict[str, str],
        held_up: SentTwice,
    ) -> None:
        [commitment_id], invites = await invites_of_a_new_period(on_dev_server, admin, 1)
        body = {"commitment_ids": [commitment_id]}

        first, again = await held_up(
            invites, body, ("invitations",), lambda: len(smtp.received) == 1, "the invite"
        )

        assert first.status_code == 504, first.text
        assert again.status_code == 200, again.text
        assert again.json() == {"invited": [commitment_id], "refused": []}
        # Another key is another request: that one is refused, since the first invited.
        other = await on_dev_server.api.post(
            invites, json=body, headers=admin | {"Idempotency-Key": "K-2"}
        )
        assert other.json()["refused"][0]["reason"] == "already invited (invited)"

    async def test_a_close(
        self,
        on_dev_server: Paydraw,
        smtp: SmtpTestServer,
        admin: dict[str, str],
        held_up: SentTwice,
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        invited = await invited_period(env, api, admin, smtp, 1, due_in_days=14)
        period = f"/api/v1/billing-periods/{invited.period_id}"

        async def closed() -> bool:
            board = (await api.get(period, headers=admin)).json()
            return bool(board["period"]["status"] == "closed")

        first, again = await held_up(
            f"{period}/close", None, ("billing_periods", "invitations"), closed, "the close"
        )

        assert first.status_code == 504, first.text
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "closed"

    async def test_a_due_date_extended_before_the_period_closed(
        self,
        on_dev_server: Paydraw,
        smtp: SmtpTestServer,
        admin: dict[str, str],
        held_up: SentTwice,
    ) -> None:
        env, api = on_dev_server.env, on_dev_server.api
        invited = await invited_period(env, api, admin, smtp, 1, due_in_days=14)
        period = f"/api/v1/billing-periods/{invited.period_id}"
        extend = f"{period}/commitments/{invited.commitment_ids[0]}/extend-due-date"
        later = (await today(env) + timedelta(days=21)).isoformat()

        async def extended_then_closed() -> bool:
            board = (await api.get(period, headers=admin)).json()
            if board["rows"][0]["due_date"] != later:
                return False
            await post(api, f"{period}/close", admin)
            return True

        first, again = await held_up(
            extend, {"due_date": later}, ("invitations",), extended_then_closed, "the extension"
        )

        assert first.status_code == 504, first.text
        assert again.status_code == 200, again.text
        assert again.json()["due_date"] == later
        refused = await api.post(extend, json={"due_date": later}, headers=admin)
        assert refused.status_code == 409, refused.text


@contextmanager
def waiting_briefly(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The API waits half a second for a workflow's answer: a step held up longer answers 504
    and goes on."""
    with monkeypatch.context() as waiting:
        waiting.setattr(process, "ANSWER_WAIT_SECONDS", 0.5)
        yield
