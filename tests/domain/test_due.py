"""When a pay app is due: by the end of its due date, in UTC."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from paydraw.domain.due import deadline, past_due


def test_a_due_date_lasts_until_midnight_utc_after_it() -> None:
    due_date = date(2026, 12, 25)
    assert deadline(due_date) == datetime(2026, 12, 26, tzinfo=UTC)
    assert not past_due(due_date, datetime(2026, 12, 25, 23, 59, 59, 999999, tzinfo=UTC))
    assert past_due(due_date, datetime(2026, 12, 26, tzinfo=UTC))


def test_the_last_day_of_the_calendar_is_due_at_its_end() -> None:
    assert deadline(date.max) == datetime.max.replace(tzinfo=UTC)
    assert not past_due(date.max, datetime(9999, 12, 31, 12, tzinfo=UTC))


@given(
    st.dates(date(1, 1, 5), date(9999, 12, 25)),
    st.timedeltas(timedelta(days=-3), timedelta(days=3)),
)
def test_past_due_is_after_the_due_dates_last_day_whatever_the_hour(
    due_date: date, offset: timedelta
) -> None:
    now = datetime.combine(due_date, datetime.min.time(), tzinfo=UTC) + offset
    assert past_due(due_date, now) == (now.date() > due_date)
