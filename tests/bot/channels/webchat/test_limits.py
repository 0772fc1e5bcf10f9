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


def test_slots_cap_what_is_held_at_once_per_key_and_free_when_released() -> None:
    slots = limits.Slots(capacity=2)
    assert [slots.acquire("web-a") for _ in range(3)] == [True, True, False]
    assert slots.acquire("web-b")  # keys are independent
    slots.release("web-a")
    assert slots.held("web-a") == 1
    assert slots.acquire("web-a")
    for _ in range(2):
        slots.release("web-a")
    assert slots.held("web-a") == 0 and "web-a" not in slots._held  # nothing left behind


def test_a_log_throttle_lets_the_first_through_then_one_count_per_interval() -> None:
    throttle = limits.LogThrottle(every_s=60)
    first = throttle.note("203.0.113.5", "invalid_json", now=0)
    assert first == limits.Report(1, 0.0, "invalid_json")
    quiet = [throttle.note("203.0.113.5", f"bad {n}", now=1 + n / 10) for n in range(36)]
    assert quiet == [None] * 36
    assert throttle.note("198.51.100.7", "invalid_json", now=2) is not None  # per key
    assert throttle.due(now=30) == []  # nothing is due before the interval ends
    assert throttle.due(now=61) == [("203.0.113.5", limits.Report(36, 61.0, "bad 35"))]
    # Reported: the next one waits for the next interval, and its count starts again.
    assert throttle.note("203.0.113.5", "invalid_json", now=62) is None
    assert throttle.due(now=62, everything=True) == [
        ("203.0.113.5", limits.Report(1, 1.0, "invalid_json"))
    ]
