"""Token-bucket rate limits kept in memory (per client IP for sessions, per socket for
messages). A gateway restart forgets them, which errs on the side of the fan."""

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
