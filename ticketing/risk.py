"""Risk controls against bulk buying: the per-fan cap, the hold rate limit, and counters.

The checks run inside the hold's transaction after the fan's row is locked
(PostgreSQL) or under the write lock (SQLite), so two concurrent holds by the
same fan cannot both slip under the cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import conflict_insert, database_kind, table_of, write_session
from ticketing.errors import PurchaseLimitReached, RateLimited
from ticketing.models import Customer, Hold, RiskCounter, SeatClaim
from ticketing.policies import Policies
from ticketing.store import store_for


@dataclass(frozen=True)
class FanStanding:
    """What the risk checks need to know about a fan for one fixture."""

    is_member: bool
    seats_claimed: int
    holds_in_window: int
    oldest_hold_in_window: datetime | None


@cache
def _standing() -> Select[Any]:
    claims, holds = table_of(SeatClaim), table_of(Hold)
    now = bindparam("b_now", type_=claims.c.expires_at.type)
    since = bindparam("b_since", type_=holds.c.created_at.type)
    claimed = (
        select(func.count())
        .where(
            claims.c.fixture_id == bindparam("b_fixture"),
            claims.c.customer_id == bindparam("b_customer"),
            (claims.c.status != "held") | (claims.c.expires_at > now),
        )
        .scalar_subquery()
    )
    recent = holds.c.customer_id == bindparam("b_customer"), holds.c.created_at > since
    count = select(func.count()).where(*recent).scalar_subquery()
    oldest = select(func.min(holds.c.created_at)).where(*recent).scalar_subquery()
    customers = table_of(Customer)
    return select(customers.c.is_member, claimed, count, oldest).where(
        customers.c.id == bindparam("b_customer")
    )


def lock_fan(
    session: Session, customer_id: int, fixture_id: int, now: datetime, policies: Policies
) -> FanStanding:
    """Lock the fan's row for this transaction and read their claims and recent holds."""
    since = now - timedelta(seconds=policies.limits.window_seconds)
    store_for(session).lock_fan(session, customer_id)
    row = (
        session.connection()
        .execute(
            _standing(),
            {"b_fixture": fixture_id, "b_customer": customer_id, "b_now": now, "b_since": since},
        )
        .one()
    )
    oldest = row[3]
    if isinstance(oldest, datetime) and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return FanStanding(
        is_member=bool(row[0]),
        seats_claimed=int(row[1]),
        holds_in_window=int(row[2]),
        oldest_hold_in_window=oldest,
    )


def check_hold(
    standing: FanStanding, quantity: int, now: datetime, policies: Policies, *, credit: int = 0
) -> None:
    """Refuse a hold that trips the rate limit or would exceed the fan's cap.

    `credit` counts seats the same request gives back (an exchange within a fixture).
    """
    limits = policies.limits
    if standing.holds_in_window >= limits.holds_per_window:
        oldest = standing.oldest_hold_in_window or now
        wait = (oldest + timedelta(seconds=limits.window_seconds) - now).total_seconds()
        raise RateLimited(
            f"too many holds: at most {limits.holds_per_window} per "
            f"{limits.window_seconds} s; try again shortly",
            retry_after_s=max(1, math.ceil(wait)),
        )
    already = standing.seats_claimed - credit
    if already + quantity > limits.per_fan_per_fixture:
        left = max(0, limits.per_fan_per_fixture - already)
        raise PurchaseLimitReached(
            f"at most {limits.per_fan_per_fixture} tickets per fan for this match; "
            f"you have {already}, so {left} more at most",
            limit=limits.per_fan_per_fixture,
            already=already,
        )


def record_refusal(db: sessionmaker[Session], fixture_id: int, reason: str, now: datetime) -> None:
    """Count a refused request (in its own transaction, so it survives the refusal)."""
    day = now.date().isoformat()
    with write_session(db) as session:
        stmt = conflict_insert(database_kind(session), RiskCounter).values(
            day=day, fixture_id=fixture_id, reason=reason, count=1
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[RiskCounter.day, RiskCounter.fixture_id, RiskCounter.reason],
                set_={"count": RiskCounter.count + 1},
            )
        )


def refusal_counts(session: Session, fixture_id: int | None = None) -> dict[str, int]:
    """Refused requests by reason (all days), optionally for one fixture."""
    query = select(RiskCounter.reason, func.sum(RiskCounter.count)).group_by(RiskCounter.reason)
    if fixture_id is not None:
        query = query.where(RiskCounter.fixture_id == fixture_id)
    return {reason: int(total) for reason, total in session.execute(query).tuples()}
