"""Budgets by source (address, page origin, API key) and refusals counted per minute."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import utcnow
from tests.support.metrics import sample
from tests.ticketing.conftest import Club
from ticketing.errors import BudgetExceeded, RateLimited
from ticketing.holds import create_hold, release_hold
from ticketing.models import Hold
from ticketing.policies import Budgets, Policies, current_policies
from ticketing.risk import (
    HoldSource,
    record_refusal,
    refusal_counts,
    refusals_per_minute,
)

HOME = HoldSource(address="203.0.113.7", origin="https://club.example")
NEIGHBOUR = HoldSource(address="198.51.100.20", origin="https://club.example")


def _with(**budgets: object) -> Policies:
    policies = current_policies()
    return policies.model_copy(update={"budgets": policies.budgets.model_copy(update=budgets)})


def test_fresh_widget_sessions_from_one_address_are_refused_past_the_budget(club: Club) -> None:
    # Each widget session is a new fan; the per-fan cap (6) alone would let all three hold.
    for session in ("web:one", "web:two"):
        create_hold(club.db, session, club.fixture, 6, source=HOME)
    with pytest.raises(BudgetExceeded) as refused:
        create_hold(club.db, "web:three", club.fixture, 6, source=HOME)
    assert refused.value.code == "address_budget"
    assert refused.value.retry_after_s > 0
    # Another address still buys, and the refusal is in this minute's counter.
    held = create_hold(club.db, "web:four", club.fixture, 6, source=NEIGHBOUR)
    assert len(held.seats) == 6
    with club.db() as session:
        minutes = refusals_per_minute(session, utcnow() - timedelta(minutes=2))
        rows = session.execute(
            select(Hold.source_address, Hold.source_origin).where(Hold.id == held.id)
        ).one()
    assert [(m.reason, m.count) for m in minutes] == [("address_budget", 1)]
    assert timedelta(0) <= utcnow() - minutes[0].minute < timedelta(minutes=2)
    assert tuple(rows) == ("198.51.100.20", "https://club.example")


def test_open_seats_per_address_free_up_when_a_hold_is_released(club: Club) -> None:
    first = create_hold(club.db, "web:a", club.fixture, 6, source=HOME)
    create_hold(club.db, "web:b", club.fixture, 6, source=HOME)
    with pytest.raises(BudgetExceeded):
        create_hold(club.db, "web:c", club.fixture, 1, source=HOME)
    release_hold(club.db, "web:a", first.id)
    assert len(create_hold(club.db, "web:c", club.fixture, 6, source=HOME).seats) == 6
    # The open-seat budget is per match: the address may hold for another one.
    assert create_hold(club.db, "web:d", club.fixtures[1], 2, source=HOME).seats


def test_holds_per_address_in_the_window(lite: Club) -> None:
    policies = _with(holds_per_address=3)
    for n in range(3):
        hold = create_hold(lite.db, f"web:{n}", lite.fixture, 1, source=HOME, policies=policies)
        release_hold(lite.db, f"web:{n}", hold.id)
    with pytest.raises(BudgetExceeded) as refused:
        create_hold(lite.db, "web:9", lite.fixture, 1, source=HOME, policies=policies)
    assert refused.value.code == "address_budget"
    assert 0 < refused.value.retry_after_s <= policies.budgets.window_seconds
    assert isinstance(refused.value, RateLimited)  # adapters answer it as a rate limit
    later = utcnow() + timedelta(seconds=policies.budgets.window_seconds + 1)
    assert create_hold(lite.db, "web:9", lite.fixture, 1, source=HOME, policies=policies, now=later)


def test_origin_and_key_budgets(lite: Club) -> None:
    policies = _with(holds_per_origin=2, holds_per_address=None)
    for n in range(2):
        source = HoldSource(address=f"192.0.2.{n}", origin="https://copycat.example")
        create_hold(lite.db, f"web:o{n}", lite.fixture, 1, source=source, policies=policies)
    with pytest.raises(BudgetExceeded) as refused:
        source = HoldSource(address="192.0.2.99", origin="https://copycat.example")
        create_hold(lite.db, "web:o9", lite.fixture, 1, source=source, policies=policies)
    assert refused.value.code == "origin_budget"

    keyed = HoldSource(key_id=7, key_budget=2)
    for n in range(2):
        create_hold(lite.db, f"api:k{n}", lite.fixture, 1, source=keyed)
    with pytest.raises(BudgetExceeded) as refused:
        create_hold(lite.db, "api:k9", lite.fixture, 1, source=keyed)
    assert refused.value.code == "key_budget"
    # A key without a budget (the club's own full keys) is never counted.
    for n in range(4):
        create_hold(lite.db, f"api:f{n}", lite.fixture, 1, source=HoldSource(key_id=8))
    with lite.db() as session:
        assert refusal_counts(session, lite.fixture) == {"origin_budget": 1, "key_budget": 1}


def test_concurrent_fresh_fans_from_one_address_stay_within_the_budget(club: Club) -> None:
    results: list[str] = []
    start = threading.Barrier(6)

    def buy(n: int) -> None:
        start.wait()
        try:
            create_hold(club.db, f"web:rush{n}", club.fixture, 6, source=HOME)
            results.append("held")
        except BudgetExceeded:
            results.append("refused")

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["held"] * 2 + ["refused"] * 4
    with club.db() as session:
        assert refusal_counts(session, club.fixture) == {"address_budget": 4}


def test_refusals_are_counted_per_minute_and_reason(lite: Club) -> None:
    at = utcnow().replace(second=30, microsecond=0) - timedelta(minutes=5)
    record_refusal(lite.db, 0, "widget_sessions", at)
    record_refusal(lite.db, 0, "widget_sessions", at + timedelta(seconds=20))
    record_refusal(lite.db, 0, "widget_sessions", at + timedelta(minutes=1))
    record_refusal(lite.db, lite.fixture, "address_budget", at + timedelta(minutes=1))
    with lite.db() as session:
        minutes = refusals_per_minute(session, at - timedelta(minutes=1))
        recent = refusal_counts(session, since=at + timedelta(minutes=1))
    first = at.replace(second=0)
    assert [(m.minute, m.reason, m.count) for m in minutes] == [
        (first, "widget_sessions", 2),
        (first + timedelta(minutes=1), "address_budget", 1),
        (first + timedelta(minutes=1), "widget_sessions", 1),
    ]
    assert recent == {"address_budget": 1, "widget_sessions": 1}


def test_budgets_are_validated() -> None:
    with pytest.raises(ValueError, match="holds_per_address"):
        Budgets(holds_per_address=0)


def test_each_refusal_is_counted_in_the_processs_metrics_too(lite: Club) -> None:
    before = sample("matchday_refusals_total", reason="widget_sessions")
    record_refusal(lite.db, 0, "widget_sessions", utcnow())
    record_refusal(lite.db, 0, "widget_sessions", utcnow())
    assert sample("matchday_refusals_total", reason="widget_sessions") == before + 2
