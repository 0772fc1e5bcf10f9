"""Answering "which matches are on?" from the ticketing database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.database import sessions
from actions.language import language_of
from actions.matches import match_name
from core.clock import utcnow
from core.texts import text
from knowledge.when import DateRange, parse_when
from ticketing.club import Club, current_club
from ticketing.fixtures import find_team, list_fixtures
from ticketing.schedule import local_window


class ActionListFixtures(Action):
    """Lists the fixtures in the period and with the team the fan mentioned."""

    def name(self) -> str:
        return "action_list_fixtures"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        said = tracker.latest_message.get("text") or ""
        dates = " ".join(str(e) for e in tracker.get_latest_entity_values("date"))
        now = utcnow()
        team_names = list(tracker.get_latest_entity_values("team"))
        with sessions()() as session:
            club = current_club(session)
            today = now.astimezone(club.zone).date()
            period = parse_when(dates, today) or parse_when(said, today)
            team = next((t for n in team_names if (t := find_team(session, n))), None)
            team_id = team.id if team is not None and team.id != club.home_team_id else None
            after, before = _bounds(period, now, club)
            fixtures = list_fixtures(session, after=after, before=before, team_id=team_id, limit=6)
            upcoming = None if fixtures else list_fixtures(session, after=now, limit=1)
        label = period.label(language) if period else text("fixtures.coming_up", language)
        if not fixtures:
            nxt = ""
            if upcoming:
                line = match_name(upcoming[0], language, "line").lstrip("• ")
                nxt = text("fixtures.next_one", language, fixture=line)
            dispatcher.utter_message(response="utter_no_fixtures", period=label, next_fixture=nxt)
            return []
        lines = "\n".join(match_name(f, language, "line") for f in fixtures)
        buttons = [
            {
                "title": text(
                    "fixtures.buy", language, team=f.away_zh if language == "zh" else f.away_en
                ),
                "payload": f'/buy_tickets{{"fixture":"{f.id}"}}',
            }
            for f in fixtures[:3]
        ]
        dispatcher.utter_message(
            response="utter_fixture_list", period=label, fixtures=lines, buttons=buttons
        )
        return []


def _bounds(period: DateRange | None, now: datetime, club: Club) -> tuple[datetime, datetime]:
    if period is None:
        return now, now + timedelta(days=60)
    lower, upper = local_window(period.start, period.end, club.time_zone)
    return max(lower, now), upper
