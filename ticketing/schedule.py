"""Calendar arithmetic in the club's local time: weekends and relative kick-offs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekend_start(today: date) -> date:
    """The Saturday of "this weekend": today on Saturday, yesterday on Sunday, else next."""
    weekday = today.weekday()  # Monday 0 .. Sunday 6
    if weekday == 6:
        return today - timedelta(days=1)
    return today + timedelta(days=5 - weekday)


def relative_kickoff(today: date, week: int, day: str, local_time: str, tz: str) -> datetime:
    """Kick-off in UTC for `day` of the weekend `week` weekends after this one.

    Days after Sunday (mon..fri) fall in the week following that weekend's Saturday,
    counted back from it: `wed` of week 3 is the Wednesday before week 3's Saturday.
    """
    saturday = weekend_start(today) + timedelta(weeks=week)
    offset = WEEKDAYS.index(day) - 5
    local_day = saturday + timedelta(days=offset)
    hour, minute = (int(part) for part in local_time.split(":"))
    local = datetime.combine(local_day, time(hour, minute), tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC)


def local_window(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """UTC bounds of the local days from `start` to `end`, both included."""
    zone = ZoneInfo(tz)
    lower = datetime.combine(start, time.min, tzinfo=zone).astimezone(UTC)
    upper = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return lower, upper
