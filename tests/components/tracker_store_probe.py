"""Exercise `components.tracker_store` inside the Rasa environment (.venv-rasa, Python 3.10).

    .venv-rasa/bin/python tests/components/tracker_store_probe.py DATABASE_FILE

`test_tracker_store.py` runs this and asserts on the JSON it prints. Each case is a
conversation driven the way Rasa's processor drives the store (retrieve, append the
turn's events, save), compared with what Rasa's own `SQLTrackerStore` reads back from
the same database, and the SQL statements each step sent.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from components.tracker_store import DeskTrackerStore, desk_store, turn_summary

DOMAIN = Domain.from_dict(
    {
        "intents": ["greet", "buy"],
        "slots": {"quantity": {"type": "float", "mappings": [{"type": "custom"}]}},
        "responses": {"utter_hi": [{"text": "hi"}]},
    }
)


def turn(text: str, intent: str, quantity: float | None = None) -> list[Any]:
    events: list[Any] = [
        UserUttered(text, {"name": intent, "confidence": 0.9}),
        ActionExecuted("utter_hi"),
        BotUttered("hi"),
    ]
    if quantity is not None:
        events.append(SlotSet("quantity", quantity))
    return [*events, ActionExecuted("action_listen")]


class Statements:
    """Counts the SQL statements an engine sends."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def since(self, mark: int) -> int:
        return self.count - mark


def state(tracker: Any) -> dict[str, Any]:
    return {
        "events": [e.as_dict() for e in tracker.events],
        "slots": tracker.current_slot_values(),
    }


async def main(database: str) -> dict[str, Any]:
    url = f"sqlite:///{database}"
    store = DeskTrackerStore(DOMAIN, host=url, cache_size=2)
    plain = SQLTrackerStore(DOMAIN, host=url)  # Rasa's own, as another server would read
    sql = Statements(store.engine)
    connects: list[int] = []
    sa.event.listen(store.engine, "connect", lambda *_: connects.append(1))
    out: dict[str, Any] = {"journal_mode": None}
    with store.engine.connect() as connection:
        out["journal_mode"] = connection.exec_driver_sql("PRAGMA journal_mode").scalar()

    # Three turns of one conversation, as the processor runs them.
    tracker = await store.get_or_create_tracker("fan-a")
    await store.save(tracker)
    steps = []
    for text, intent, quantity in (("hello", "greet", None), ("2 tickets", "buy", 2.0)):
        mark = sql.count
        tracker = await store.retrieve("fan-a")
        retrieved = sql.since(mark)
        for event in turn(text, intent, quantity):
            tracker.update(event)
        mark = sql.count
        await store.save(tracker)
        steps.append({"retrieve_statements": retrieved, "save_statements": sql.since(mark)})
    out["steps"] = steps
    out["connections_opened"] = len(connects)
    out["same_as_rasa"] = state(await plain.retrieve("fan-a")) == state(tracker)
    latest = store.latest("fan-a")
    out["latest_is_saved"] = latest is tracker
    out["summary"] = turn_summary(tracker)

    # Another writer (a second Rasa server) adds a turn: the cache must not hide it.
    other = await plain.retrieve("fan-a")
    for event in turn("3 tickets", "buy", 3.0):
        other.update(event)
    await plain.save(other)
    seen = await store.retrieve("fan-a")
    out["sees_other_writer"] = state(seen) == state(await plain.retrieve("fan-a"))
    out["slot_after_other_writer"] = seen.get_slot("quantity")
    await store.save(seen)  # nothing new: no row written

    # A turn that fails before it is saved is never served.
    broken = await store.retrieve("fan-a")
    broken.update(SlotSet("quantity", 99.0))
    again = await store.retrieve("fan-a")
    out["unsaved_change_served"] = again.get_slot("quantity") == 99.0

    # Saving writes exactly the new events: the database holds each event once.
    for event in turn("4 tickets", "buy", 4.0):
        again.update(event)
    await store.save(again)
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT count(*) FROM events WHERE sender_id = 'fan-a'"
        ).scalar()
    out["rows"] = rows
    out["events"] = len((await plain.retrieve("fan-a")).events)
    out["same_as_rasa_at_end"] = state(await plain.retrieve("fan-a")) == state(
        await store.retrieve("fan-a")
    )

    # exists() neither hands a tracker out nor misses one in the database only.
    out["exists"] = [await store.exists("fan-a"), await store.exists("nobody")]

    # Least recently used conversations leave the cache (cache_size=2).
    for sender in ("fan-b", "fan-c"):
        fresh = await store.get_or_create_tracker(sender)
        await store.save(fresh)
    out["cached_after_lru"] = sorted(s for s in ("fan-a", "fan-b", "fan-c") if store.latest(s))

    # A new model's domain empties the cache.
    store.domain = DOMAIN
    out["cached_after_new_domain"] = [s for s in ("fan-b", "fan-c") if store.latest(s)]
    out["found_inside_wrapper"] = desk_store(type("Wrap", (), {"_tracker_store": store})()) is store
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1])), default=str))
