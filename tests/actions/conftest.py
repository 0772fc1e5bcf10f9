"""Offline tests of the custom actions: a real test club database, hand-made trackers.

The actions run as the action server runs them (their own sessions from
DATABASE_URL), with no Rasa process: each test builds the tracker a turn would have.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.database import sessions
from core.settings import get_settings
from tests.ticketing.conftest import Club, load_club

DOMAIN: dict[str, Any] = {"forms": {}, "slots": {}, "responses": {}}


@pytest.fixture
def desk(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Club]:
    """The test club, and the actions pointed at its database (SQLite and PostgreSQL)."""
    monkeypatch.setenv("MATCHDAY_KEYS_DIR", str(tmp_path / "keys"))
    club = load_club(database_url, tmp_path / "club")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MATCHDAY_MEDIA_SECRET", "test-media-secret")
    get_settings.cache_clear()
    sessions.cache_clear()
    yield club
    sessions.cache_clear()
    get_settings.cache_clear()


def tracker(
    customer: str,
    text: str = "",
    *,
    intent: str = "inform",
    entities: dict[str, str] | None = None,
    slots: dict[str, Any] | None = None,
    language: str = "en",
    active_loop: str | None = None,
) -> Tracker:
    """The tracker of a conversation whose latest fan message is `text`."""
    return Tracker(
        sender_id=f"test-{customer}",
        slots={"language": language, "customer": customer, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.99},
            "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
            "metadata": {"customer": customer, "language": language},
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    """The names of the responses the action uttered, in order."""
    return [str(m.get("response")) for m in dispatcher.messages]


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slot values the events set (the last value wins)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
