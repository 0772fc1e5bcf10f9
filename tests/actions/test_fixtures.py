"""The actions read the club from its record: a second club's matches are listed in its
own time zone, its own team is not an opponent, its categories carry its names and prices."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions.database import sessions
from actions.fixture_choice import candidate_fixtures
from actions.fixtures import ActionListFixtures
from actions.purchase import seating_buttons
from core.clock import utcnow
from core.settings import get_settings
from tests.actions.conftest import DOMAIN, tracker
from tests.ticketing.conftest import load_second_club


@pytest.fixture
def harbour(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    """The Harbourside club, and the actions pointed at its database."""
    db = load_second_club(database_url, monkeypatch)
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    sessions.cache_clear()
    yield db
    sessions.cache_clear()
    get_settings.cache_clear()


def test_a_second_clubs_matches_are_listed_in_its_own_time(
    harbour: sessionmaker[Session],
) -> None:
    dispatcher = CollectingDispatcher()
    # Its own team named: no filter on an opponent, both of its matches are listed.
    asking = tracker("api:harbour", "harbourside games?", entities={"team": "Harbourside"})
    asyncio.run(ActionListFixtures().run(dispatcher, asking, DOMAIN))
    (message,) = dispatcher.messages
    assert message["response"] == "utter_fixture_list"
    lines = str(message["fixtures"]).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("• Sat ") and lines[0].endswith(
        ", 15:00: Harbourside Rovers vs Hilltop United (League)"
    )  # 15:00 at the ground, in Auckland
    assert ", 19:30: Harbourside Rovers vs Bayview City" in lines[1]


def test_the_home_team_is_never_taken_for_the_opponent(harbour: sessionmaker[Session]) -> None:
    now = utcnow()
    with harbour() as session:
        by_opponent = candidate_fixtures(
            session, fixture_values=[], team_values=["Bayview"], date_values=[], text="", now=now
        )
        by_home = candidate_fixtures(
            session,
            fixture_values=[],
            team_values=["Harbourside"],
            date_values=[],
            text="",
            now=now,
        )
    assert [f.summary.away_en for f in by_opponent] == ["Bayview City"]
    assert [f.summary.away_en for f in by_home] == ["Hilltop United", "Bayview City"]


def test_seating_shows_the_clubs_category_names_and_currency(
    harbour: sessionmaker[Session],
) -> None:
    with harbour() as session:
        fixture_id = candidate_fixtures(
            session, fixture_values=[], team_values=[], date_values=[], text="", now=utcnow()
        )[0].summary.id
    titles = [b["title"] for b in seating_buttons(fixture_id, "zh")]
    assert titles[:2] == ["看台座位 NZD 40", "站票区 NZD 25"]
