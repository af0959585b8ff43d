"""When a pay app is due: by the end of its due date, in UTC. One rule for the workflow's
timers and the services' checks."""

from datetime import UTC, date, datetime, time, timedelta


def deadline(due_date: date) -> datetime:
    """The moment a due date has passed: midnight (UTC) after it. Dates are bounded where they
    are entered; one at the end of the calendar is due at its end, not an error."""
    if due_date == date.max:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.combine(due_date + timedelta(days=1), time(0), tzinfo=UTC)


def past_due(due_date: date, now: datetime) -> bool:
    """Whether `now` (aware) is after the end of `due_date`."""
    return now >= deadline(due_date)
