"""The in-memory token buckets behind the widget's rate limits."""

from __future__ import annotations

from bot.channels.webchat import limits
from bot.channels.webchat.limits import RateLimit


def test_a_burst_then_a_wait_then_a_refill() -> None:
    limit = RateLimit(capacity=3, per_s=0.5)
    assert [limit.take("ip", now=0) for _ in range(3)] == [0, 0, 0]
    assert limit.take("ip", now=0) == 2.0  # one token comes back every 2 s
    assert limit.take("other-ip", now=0) == 0  # keys are independent
    assert limit.take("ip", now=2.0) == 0
    assert limit.take("ip", now=2.0) > 0


def test_the_table_of_keys_stays_bounded(monkeypatch: object) -> None:
    setattr(limits, "MAX_KEYS", 50)  # noqa: B010 (module constant, restored below)
    try:
        limit = RateLimit(capacity=1, per_s=1)
        for n in range(500):
            limit.take(f"ip-{n}", now=float(n))
        assert len(limit._buckets) <= 50
        assert limit.take("ip-499", now=499.0) > 0  # the recent key is still remembered
    finally:
        setattr(limits, "MAX_KEYS", 10_000)  # noqa: B010
