"""The in-process event bus between the conversation service, the agent API and the
console's WebSockets (the gateway is one process; everything is also in the database,
so a console that reconnects reloads from there and misses nothing).

Events carry what a subscriber needs to decide who may see them (`owner_id`,
`language`) without a database round trip. Channel adapters (Telegram, the web
widget) can subscribe too, to push agent messages to fans.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, overload

EventType = Literal["queue", "message", "typing", "status", "presence", "callback", "note"]
MAX_PENDING = 1000


@dataclass(frozen=True)
class Event:
    """Something that happened to a conversation (or to the queue)."""

    type: EventType
    conversation_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    owner_id: int | None = None
    language: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The event as the console's WebSocket sends it."""
        return {"type": self.type, "conversation_id": self.conversation_id, **self.data}


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: datetime | None) -> str | None: ...
def iso(value: datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds and a `Z`, like every API timestamp."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Subscription:
    """A subscriber's queue of events; `overflowed` is set when it fell too far behind."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue(MAX_PENDING)
        self.overflowed = False

    def _deliver(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self) -> Event:
        """Wait for the next event."""
        return await self.queue.get()


class EventBus:
    """Fan-out of events to every subscriber; `publish` may be called from any thread."""

    def __init__(self) -> None:
        self._subscribers: dict[int, Subscription] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """Receive events while the context is open (call from the event loop)."""
        subscription = Subscription(asyncio.get_running_loop())
        key = next(self._ids)
        with self._lock:
            self._subscribers[key] = subscription
        try:
            yield subscription
        finally:
            with self._lock:
                self._subscribers.pop(key, None)

    def publish(self, event: Event) -> None:
        """Send `event` to every subscriber, in publication order."""
        with self._lock:
            subscribers = list(self._subscribers.values())
        for subscription in subscribers:
            if subscription.loop.is_closed():
                continue
            subscription.loop.call_soon_threadsafe(subscription._deliver, event)
