"""Limits kept in memory: token-bucket rate limits (per client IP for sessions, per socket
for messages), caps on what is held at once (`Slots`: open sockets per conversation and
per address) and a log throttle (`LogThrottle`: refused frames per address). They count
per gateway process; a restart forgets them, which errs on the side of the fan."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

MAX_KEYS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimit:
    """`capacity` actions at once, refilled at `per_s` actions a second, for each key."""

    capacity: float
    per_s: float
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, now: float | None = None) -> float:
        """0 when allowed (one token used); otherwise the seconds until one is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_KEYS:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.per_s)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.per_s

    def _forget_full(self, now: float) -> None:
        # Keys whose bucket has refilled carry no information; drop them first.
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.per_s >= self.capacity
        ]
        for key in full or list(self._buckets)[: MAX_KEYS // 10]:
            del self._buckets[key]


@dataclass
class Slots:
    """At most `capacity` held at once for each key; a slot is free again once released."""

    capacity: int
    _held: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, key: str) -> bool:
        """Take a slot of `key`: False (nothing taken) when all `capacity` are held."""
        with self._lock:
            held = self._held.get(key, 0)
            if held >= self.capacity:
                return False
            self._held[key] = held + 1
            return True

    def release(self, key: str) -> None:
        """Give back a slot taken with `acquire`."""
        with self._lock:
            held = self._held.get(key, 0) - 1
            if held > 0:
                self._held[key] = held
            else:
                self._held.pop(key, None)  # only keys in use are kept

    def held(self, key: str) -> int:
        """How many slots of `key` are taken."""
        with self._lock:
            return self._held.get(key, 0)


@dataclass
class _Quiet:
    since: float
    suppressed: int
    last: str


@dataclass(frozen=True)
class Report:
    """What a `LogThrottle` lets through: `count` events over `seconds`, the last `last`."""

    count: int
    seconds: float
    last: str


@dataclass
class LogThrottle:
    """Says when an event may be logged: the first of a key at once, then at most one line
    per `every_s` per key, carrying how many were kept quiet in between."""

    every_s: float
    _keys: dict[str, _Quiet] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, key: str, what: str, now: float | None = None) -> Report | None:
        """Count an event of `key`: what to log now (this event included), or None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            quiet = self._keys.get(key)
            if quiet is not None and now - quiet.since < self.every_s:
                quiet.suppressed += 1
                quiet.last = what
                return None
            if quiet is None and len(self._keys) >= MAX_KEYS:
                self._forget_quiet(now)
            self._keys[key] = _Quiet(now, 0, what)
            if quiet is None or not quiet.suppressed:
                return Report(1, 0.0, what)
            return Report(quiet.suppressed + 1, now - quiet.since, what)

    def due(self, now: float | None = None, everything: bool = False) -> list[tuple[str, Report]]:
        """What was kept quiet for a whole interval (with `everything`: at all), by key, now
        reported; keys with nothing kept quiet and a spent interval are forgotten."""
        now = time.monotonic() if now is None else now
        reported: list[tuple[str, Report]] = []
        with self._lock:
            for key, quiet in list(self._keys.items()):
                if not everything and now - quiet.since < self.every_s:
                    continue
                if quiet.suppressed:
                    reported.append((key, Report(quiet.suppressed, now - quiet.since, quiet.last)))
                    self._keys[key] = _Quiet(now, 0, quiet.last)
                else:
                    del self._keys[key]
        return reported

    def _forget_quiet(self, now: float) -> None:
        # Keys past their interval with nothing kept quiet carry no information.
        stale = [
            key
            for key, q in self._keys.items()
            if not q.suppressed and now - q.since >= self.every_s
        ]
        for key in stale or list(self._keys)[: MAX_KEYS // 10]:
            del self._keys[key]
