"""How a match is named in replies and buttons: "home v away" and when, in the fan's language.

One helper for every action (fixture lists, buy-form buttons, orders, exchanges
and transfers), so a match reads the same wherever the fan meets it.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from knowledge.language import Language
from ticketing.fixtures import FixtureSummary, get_fixture

_ZH_WEEKDAYS = "一二三四五六日"

Detail = Literal["line", "kickoff", "day"]


def match_summary(session: Session, fixture_id: int) -> FixtureSummary:
    """The names and kick-off of a fixture (`NotFound` if there is none)."""
    fixture = get_fixture(session, fixture_id)
    return FixtureSummary(
        id=fixture.id,
        home_en=fixture.home_team.name_en,
        home_zh=fixture.home_team.name_zh,
        away_en=fixture.away_team.name_en,
        away_zh=fixture.away_team.name_zh,
        competition=fixture.competition,
        kickoff=fixture.kickoff,
        status=fixture.status,
        timezone=fixture.venue.timezone,
    )


def match_name(match: FixtureSummary, language: Language, detail: Detail = "kickoff") -> str:
    """A match in the club's local time.

    `line`: a bulleted line of a fixture list (weekday, time, competition);
    `kickoff`: for a button or an offer ("Riverside Athletic v Harbour City (Sat 5 Dec 15:00)");
    `day`: for an order, where the date is enough.
    """
    local = match.kickoff.astimezone(ZoneInfo(match.timezone))
    if language == "zh":
        teams = f"{match.home_zh} vs {match.away_zh}"
        day = f"{local.month}月{local.day}日"
        if detail == "line":
            return f"• {day}（周{_ZH_WEEKDAYS[local.weekday()]}）{local:%H:%M} {teams}"
        if detail == "kickoff":  # with the weekday: "周六那场" picks it from the buttons
            return f"{teams}（{day} 周{_ZH_WEEKDAYS[local.weekday()]} {local:%H:%M}）"
        return f"{teams} {day}"
    if detail == "line":
        return (
            f"• {local:%a %-d %b, %H:%M}: {match.home_en} vs {match.away_en} ({match.competition})"
        )
    teams = f"{match.home_en} v {match.away_en}"
    if detail == "kickoff":
        return f"{teams} ({local:%a %-d %b %H:%M})"
    return f"{teams}, {local:%a %-d %b}"
