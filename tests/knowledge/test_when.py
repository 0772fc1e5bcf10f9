from datetime import date

import pytest

from knowledge.when import parse_when

WEDNESDAY = date(2026, 11, 25)
SUNDAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("which matches are on this weekend?", date(2026, 11, 28), date(2026, 11, 29)),
        ("这周末有什么比赛", date(2026, 11, 28), date(2026, 11, 29)),
        ("next weekend", date(2026, 12, 5), date(2026, 12, 6)),
        ("tonight", WEDNESDAY, WEDNESDAY),
        ("明天有比赛吗", date(2026, 11, 26), date(2026, 11, 26)),
        ("any game on saturday", date(2026, 11, 28), date(2026, 11, 28)),
        ("周六", date(2026, 11, 28), date(2026, 11, 28)),
        ("下周六", date(2026, 12, 5), date(2026, 12, 5)),
        ("12月5日的比赛", date(2026, 12, 5), date(2026, 12, 5)),
        ("tickets for 5th Dec", date(2026, 12, 5), date(2026, 12, 5)),
        ("Jan 3", date(2027, 1, 3), date(2027, 1, 3)),
        ("next week", date(2026, 11, 30), date(2026, 12, 6)),
    ],
)
def test_phrases_become_local_days(text: str, start: date, end: date) -> None:
    found = parse_when(text, WEDNESDAY)
    assert found is not None
    assert (found.start, found.end) == (start, end)


def test_on_sunday_this_weekend_is_today_only() -> None:
    found = parse_when("this weekend", SUNDAY)
    assert found is not None and (found.start, found.end) == (SUNDAY, SUNDAY)


@pytest.mark.parametrize("text", ["hi", "how much is category 1", "31 Feb", "2月30日"])
def test_no_time_is_none(text: str) -> None:
    assert parse_when(text, WEDNESDAY) is None


def test_labels_follow_the_language() -> None:
    found = parse_when("this weekend", WEDNESDAY)
    assert found is not None
    assert found.label("en") == "this weekend" and found.label("zh") == "本周末"
