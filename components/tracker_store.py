"""Rasa's SQL tracker store, with the conversations in use kept in memory.

Rasa's `SQLTrackerStore` rebuilds a conversation from the database for every message
(read every event of the session, decode its JSON, replay it) and, to save, counts the
stored events again to know which are new. On the desk that was a third of the Rasa
server's CPU per message (docs/performance.md). This store keeps the tracker of each
conversation it saved, and hands it out again for the next message when the database
still ends with the event it wrote last: one indexed `max(id)` instead of the whole
session. Another Rasa server sharing the database that wrote in between, or an event
added any other way, makes the check fail and the tracker is read as Rasa reads it.

A tracker handed out is the caller's to change (Rasa appends the turn's events to it
and saves it); until it is saved again it is not in the cache, so a change that is
never saved (a failed turn) is never served. The store also remembers how many events
of the handed-out tracker are stored already, so saving writes the rest without
counting them in the database.

`latest(sender_id)` gives the gateway channel (components/channel.py) the tracker just
saved, read-only, to tell the gateway the turn's intent, form and slots without a
second request.

SQLite: the tracker file is opened in WAL mode with `synchronous=NORMAL`, as the desk's
own database is (core/db.py), so a commit no longer waits for two fsyncs, and its
connections stay open in a pool (Rasa's SQLAlchemy 1.4 opened one per session).

endpoints.yml:

    tracker_store:
      type: components.tracker_store.DeskTrackerStore
      cache_size: 2000     # conversations kept in memory (least recently used go)
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

log = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 2000


@dataclass
class _Saved:
    """A tracker as it was saved: its event count then and the id of its last row."""

    tracker: DialogueStateTracker
    events: int
    last_id: Optional[int]


@dataclass
class _Lent:
    """A tracker handed out: how many of its events the database has already."""

    tracker: DialogueStateTracker
    stored: int


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class DeskTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with a cache of recently saved trackers (see the module)."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        **kwargs: Any,
    ) -> None:
        cache_size = int(cache_size)
        if cache_size < 0:
            raise ValueError("cache_size must be 0 or more")
        super().__init__(domain, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens a new connection to a SQLite file for every session
            # (NullPool): keep them open instead, with the pragmas set once each.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False}
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.cache_size = cache_size
        self._saved: OrderedDict[Text, _Saved] = OrderedDict()
        self._lent: OrderedDict[Text, _Lent] = OrderedDict()

    # The domain's slots are built into every tracker: a new model empties the cache.
    @property  # type: ignore[override]
    def domain(self) -> Domain:
        return self._domain  # type: ignore[no-any-return]

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        self._domain = domain or Domain.empty()
        if getattr(self, "_saved", None) is not None:
            self._saved.clear()
            self._lent.clear()

    def _last_id(self, sender_id: Text) -> Optional[int]:
        with self.session_scope() as session:
            found = session.query(sa.func.max(self.SQLEvent.id)).filter(
                self.SQLEvent.sender_id == sender_id
            )
            value = found.scalar()
            return int(value) if value is not None else None

    def _lend(self, sender_id: Text, tracker: DialogueStateTracker, stored: int) -> None:
        self._lent[sender_id] = _Lent(tracker, stored)
        self._lent.move_to_end(sender_id)
        while len(self._lent) > max(self.cache_size, 1) * 2:  # handed out, never saved
            self._lent.popitem(last=False)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The conversation's tracker: the one saved last when the database agrees."""
        saved = self._saved.pop(sender_id, None)
        if (
            saved is not None
            and len(saved.tracker.events) == saved.events  # not changed since it was saved
            and saved.last_id == self._last_id(sender_id)  # nobody wrote since
        ):
            tracker: Optional[DialogueStateTracker] = saved.tracker
        else:
            tracker = await self._retrieve(sender_id, fetch_events_from_all_sessions=False)
        if tracker is not None:
            self._lend(sender_id, tracker, len(tracker.events))
        return tracker

    async def exists(self, conversation_id: Text) -> bool:
        """Whether the conversation has events (without handing its tracker out)."""
        if conversation_id in self._saved:
            return True
        return self._last_id(conversation_id) is not None

    def latest(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The tracker saved last for `sender_id`, if still in memory. Read it, never
        change it."""
        saved = self._saved.get(sender_id)
        return saved.tracker if saved is not None else None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the tracker's new events, then keep it for the conversation's next turn."""
        sender_id = tracker.sender_id
        lent = self._lent.pop(sender_id, None)
        if self.event_broker is not None:
            await self.stream_events(tracker)
            self._lent.pop(sender_id, None)  # stream_events read the old one through us
        with self.session_scope() as session:
            if lent is not None and lent.tracker is tracker:
                stored = lent.stored
            else:  # not handed out by this store: count as Rasa does
                stored = self._event_query(
                    session, sender_id, fetch_events_from_all_sessions=False
                ).count()
            rows: List[Any] = []
            for event in list(tracker.events)[stored:]:
                data: Dict[Text, Any] = event.as_dict()
                rows.append(
                    self.SQLEvent(
                        sender_id=sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {})
                        .get("intent", {})
                        .get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.add_all(rows)
            session.flush()
            last_id = rows[-1].id if rows else None
            session.commit()
        if last_id is None:
            last_id = self._last_id(sender_id)
        if self.cache_size:
            self._saved[sender_id] = _Saved(tracker, len(tracker.events), last_id)
            self._saved.move_to_end(sender_id)
            while len(self._saved) > self.cache_size:
                self._saved.popitem(last=False)


def desk_store(store: Optional[TrackerStore]) -> Optional[DeskTrackerStore]:
    """The `DeskTrackerStore` inside the agent's store (Rasa wraps it), if it is one."""
    seen = 0
    while store is not None and seen < 5:
        if isinstance(store, DeskTrackerStore):
            return store
        store = getattr(store, "_tracker_store", None)
        seen += 1
    return None


def turn_summary(tracker: DialogueStateTracker) -> Dict[Text, Any]:
    """What the gateway needs of a turn: the fan's intent, the active form, the slots."""
    latest = tracker.latest_message
    intent = (latest.intent if latest is not None else {}) or {}
    confidence = intent.get("confidence")
    return {
        "intent": intent.get(INTENT_NAME_KEY),
        "confidence": float(confidence) if isinstance(confidence, (int, float)) else None,
        "active_loop": tracker.active_loop_name,
        "slots": {
            name: value
            for name, value in tracker.current_slot_values().items()
            if value is not None
        },
    }
