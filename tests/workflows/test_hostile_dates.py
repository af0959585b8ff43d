"""Dates outside the calendar Paydraw keeps are refused where they are entered, so no period,
extension or payment can leave a workflow with a deadline it cannot compute."""

import pytest

from tests.workflows.helpers import Paydraw, project_with_commitments

DATES = {"start_date": "2026-12-01", "end_date": "2026-12-31", "due_date": "2026-12-25"}


class TestDatesAtTheirBounds:
    @pytest.mark.parametrize(
        ("field", "value"),
        [("due_date", "9999-12-31"), ("start_date", "0001-01-01"), ("end_date", "2101-01-01")],
    )
    async def test_a_period_outside_the_calendar_is_refused(
        self, time_skipping_paydraw: Paydraw, admin: dict[str, str], field: str, value: str
    ) -> None:
        api = time_skipping_paydraw.api
        project_id, _ = await project_with_commitments(api, admin, 1)
        response = await api.post(
            f"/api/v1/projects/{project_id}/billing-periods",
            json=DATES | {field: value},
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == [field]
        assert "from 2000-01-01 to 2100-12-31" in response.json()["message"]

    async def test_an_extension_to_the_end_of_the_calendar_is_refused(
        self, time_skipping_paydraw: Paydraw, admin: dict[str, str]
    ) -> None:
        api = time_skipping_paydraw.api
        project_id, [commitment_id] = await project_with_commitments(api, admin, 1)
        period = await api.post(
            f"/api/v1/projects/{project_id}/billing-periods", json=DATES, headers=admin
        )
        assert period.status_code == 201, period.text
        response = await api.post(
            f"/api/v1/billing-periods/{period.json()['id']}/commitments/{commitment_id}"
            "/extend-due-date",
            json={"due_date": "9999-12-31"},
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["due_date"]
