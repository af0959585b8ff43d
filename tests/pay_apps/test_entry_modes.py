"""Each way of filling a pay app, and how stored material rolls over between applications."""

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from paydraw.domain.errors import InvalidInput
from tests.pay_apps.builders import Job, design_job


def billed(job: Job, pay_app_id: str) -> dict[str, tuple[str, str]]:
    """(E, F) per line code, for the lines that bill or store something."""
    return {
        line.code: (f"{line.this_period:.2f}", f"{line.materials_stored:.2f}")
        for line in job.get(pay_app_id).lines
        if line.this_period or line.materials_stored
    }


class TestEntryModes:
    def test_per_line_amounts(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create({"02": ("6000", "1500")})
        assert pay_app.entry_mode == "per_line_amounts"
        assert billed(job, pay_app.id) == {"02": ("6000.00", "1500.00")}

    def test_per_line_percent(self, engine: Engine) -> None:
        job = design_job(engine)
        entry = {
            "mode": "per_line_percent",
            "lines": [{"sov_line_id": job.lines["02"], "percent_complete": "25"}],
        }
        pay_app = job.create(entry=entry)
        assert billed(job, pay_app.id) == {"02": ("15000.00", "0.00")}

    def test_contract_percent_spreads_over_the_lines(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create(entry={"mode": "contract_percent", "percent": "10"})
        assert billed(job, pay_app.id) == {
            "01": ("500.00", "0.00"),
            "02": ("6000.00", "0.00"),
            "03": ("3500.00", "0.00"),
        }

    def test_contract_amount_spreads_the_remainder_cents_in_sov_order(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create(entry={"mode": "contract_amount", "amount": "100.01"})
        assert pay_app.summary.total_completed_and_stored == Decimal("100.01")
        assert billed(job, pay_app.id) == {
            "01": ("5.00", "0.00"),
            "02": ("60.01", "0.00"),
            "03": ("35.00", "0.00"),
        }

    def test_draws_are_billed_once(self, engine: Engine) -> None:
        job = design_job(engine, draws=[("Draw 1 of 2", "40000"), ("Draw 2 of 2", "60000")])
        pay_app = job.create(entry={"mode": "draws", "draw_ids": job.draws[:1]})
        assert pay_app.summary.total_completed_and_stored == Decimal("40000.00")
        job.certify(pay_app.id)
        job.period()

        with pytest.raises(InvalidInput, match="Draw 1 of 2 is already billed"):
            job.create(entry={"mode": "draws", "draw_ids": job.draws[:1]})

    def test_selected_lines_bill_their_whole_balance(self, engine: Engine) -> None:
        job = design_job(engine)
        pay_app = job.create(entry={"mode": "lines", "sov_line_ids": [job.lines["01"]]})
        assert billed(job, pay_app.id) == {"01": ("5000.00", "0.00")}

    def test_retainage_release(self, engine: Engine) -> None:
        job = design_job(engine)
        job.certify(job.create({"01": "5000", "02": "24000"}).id)
        job.period()

        release = job.create(kind="retainage_release", retainage_release={"amount": None})
        finalized = job.certify(release.id)

        assert finalized.entry_mode == "retainage_release"
        assert finalized.summary.total_retainage == Decimal("0.00")
        assert finalized.summary.current_payment_due == Decimal("2900.00")

    def test_progress_and_retainage_in_one(self, engine: Engine) -> None:
        job = design_job(engine)
        job.certify(job.create({"01": "5000"}).id)
        job.period()

        both = job.create(
            {"02": "10000"}, kind="progress_and_retainage", retainage_release={"amount": "500"}
        )

        assert both.summary.retainage_released == Decimal("500.00")
        assert both.summary.current_payment_due == Decimal("9500.00")

    def test_an_unknown_line_is_a_wrong_request(self, engine: Engine) -> None:
        job = design_job(engine)
        with pytest.raises(InvalidInput, match="unknown SOV line"):
            job.create(entry={"mode": "per_line_amounts", "lines": [{"sov_line_id": "sov_x"}]})


class TestStoredMaterials:
    def test_roll_over_keeps_what_is_stored_on_an_untouched_line(self, engine: Engine) -> None:
        job = design_job(engine)
        job.certify(job.create({"03": ("0", "8000")}).id)
        job.period()

        second = job.create({"02": "1000"})

        assert billed(job, second.id) == {"02": ("1000.00", "0.00"), "03": ("0.00", "8000.00")}

    def test_without_roll_over_the_previous_stored_is_not_carried(self, engine: Engine) -> None:
        job = design_job(engine, stored_materials_rollover=False)
        job.certify(job.create({"03": ("0", "8000")}).id)
        job.period()

        second = job.create({"02": "1000"})

        assert billed(job, second.id) == {"02": ("1000.00", "0.00")}
        assert second.summary.total_completed_and_stored == Decimal("1000.00")
