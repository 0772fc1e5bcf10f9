"""Risk controls against bulk buying: the per-fan cap, the hold rate limit, budgets by
source, and counters of refused requests.

The checks run inside the hold's transaction after the fan's row is locked
(PostgreSQL) or under the write lock (SQLite), so two concurrent holds by the
same fan cannot both slip under the cap. A fan's id is cheap to change (each widget
session is a new fan), so holds also carry their source (`HoldSource`: the client's
address, the page's origin, the API key) and budgets count by it, under a lock per
source taken the same way. Refusals are counted per minute, fixture and reason in
`risk_counts`, which every process writes (the gateway and the action server), and in
the `matchday_refusals_total` metric of the process that refused (core/metrics.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core import metrics
from core.db import conflict_insert, database_kind, table_of, write_session
from ticketing.errors import BudgetExceeded, PurchaseLimitReached, RateLimited
from ticketing.models import Customer, Hold, RiskCount, SeatClaim
from ticketing.policies import Budgets, Policies
from ticketing.store import store_for


@dataclass(frozen=True)
class HoldSource:
    """Where a hold request came from, beyond the fan it names.

    `address`: the client's address as the gateway saw it (after trusted proxies);
    `origin`: the web page's origin for widget sessions; `key_id` and `key_budget`:
    the server-to-server key and its own cap of holds per budget window (None: none;
    the club's `full` keys have none unless given one).
    """

    address: str | None = None
    origin: str | None = None
    key_id: int | None = None
    key_budget: int | None = None

    @property
    def counted(self) -> bool:
        """Whether any budget may apply (otherwise the hold takes the plain path)."""
        return bool(self.address or self.origin or self.key_budget is not None)

    def as_metadata(self) -> dict[str, Any]:
        """The fields that are set, as a message's `metadata["source"]` carries them."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_metadata(cls, given: object) -> HoldSource:
        """A source from `metadata["source"]` (what `as_metadata` wrote); fields of the
        wrong type are left out, and anything but a mapping is no source."""
        if not isinstance(given, dict):
            return NO_SOURCE

        def text(name: str) -> str | None:
            value = given.get(name)
            return value if isinstance(value, str) and value else None

        def number(name: str) -> int | None:
            value = given.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        return cls(text("address"), text("origin"), number("key_id"), number("key_budget"))

    def locks(self) -> list[str]:
        """The names of the locks a budgeted hold takes, in one global order."""
        names = [f"address:{self.address}" if self.address else "",
                 f"origin:{self.origin}" if self.origin else "",
                 f"key:{self.key_id}" if self.key_budget is not None else ""]  # fmt: skip
        return sorted(name for name in names if name)


NO_SOURCE = HoldSource()


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


@cache
def _source_counts() -> Select[Any]:
    holds = table_of(Hold)
    since = bindparam("b_since", type_=holds.c.created_at.type)
    now = bindparam("b_now", type_=holds.c.expires_at.type)

    def recent(column: Any, value: str) -> Any:
        return (
            select(func.count())
            .where(column == bindparam(value), holds.c.created_at > since)
            .scalar_subquery()
        )

    open_seats = (
        select(func.coalesce(func.sum(holds.c.quantity), 0))
        .where(
            holds.c.source_address == bindparam("b_address"),
            holds.c.fixture_id == bindparam("b_fixture"),
            holds.c.status == "active",
            holds.c.expires_at > now,
        )
        .scalar_subquery()
    )
    oldest = (
        select(func.min(holds.c.created_at))
        .where(holds.c.source_address == bindparam("b_address"), holds.c.created_at > since)
        .scalar_subquery()
    )
    return select(
        recent(holds.c.source_address, "b_address"),
        open_seats,
        recent(holds.c.source_origin, "b_origin"),
        recent(holds.c.source_key, "b_key"),
        oldest,
    )


def check_source(
    session: Session,
    source: HoldSource,
    fixture_id: int,
    quantity: int,
    now: datetime,
    policies: Policies,
) -> None:
    """Lock the hold's sources for this transaction and refuse a hold over a budget.

    Raises `BudgetExceeded` (`address_budget`, `origin_budget` or `key_budget`).
    """
    if not source.counted:
        return
    store = store_for(session)
    for name in source.locks():
        store.lock_source(session, name)
    budgets = policies.budgets
    since = now - timedelta(seconds=budgets.window_seconds)
    row = (
        session.connection()
        .execute(
            _source_counts(),
            {
                "b_address": source.address,
                "b_origin": source.origin,
                "b_key": source.key_id,
                "b_fixture": fixture_id,
                "b_since": since,
                "b_now": now,
            },
        )
        .one()
    )
    by_address, open_seats, by_origin, by_key = (int(v or 0) for v in row[:4])
    wait = _wait(row[4], now, budgets)
    per_address = budgets.holds_per_address
    if source.address and per_address is not None and by_address >= per_address:
        raise BudgetExceeded(
            "address_budget",
            f"too many holds from this connection: at most {per_address} "
            f"in {budgets.window_seconds} s; try again later",
            retry_after_s=wait,
        )
    cap = budgets.seats_open_per_address_per_fixture
    if source.address and cap is not None and open_seats + quantity > cap:
        raise BudgetExceeded(
            "address_budget",
            f"{open_seats} seats for this match are already held unpaid from this "
            f"connection (at most {cap}); pay for or release them first",
            retry_after_s=max(1, math.ceil(policies.holds.minutes * 60)),
        )
    per_origin = budgets.holds_per_origin
    if source.origin and per_origin is not None and by_origin >= per_origin:
        raise BudgetExceeded(
            "origin_budget",
            f"too many holds from this site: at most {per_origin} in "
            f"{budgets.window_seconds} s; try again shortly",
            retry_after_s=min(60, budgets.window_seconds),
        )
    if source.key_budget is not None and by_key >= source.key_budget:
        raise BudgetExceeded(
            "key_budget",
            f"this API key's budget of {source.key_budget} holds per "
            f"{budgets.window_seconds} s is spent; try again later",
            retry_after_s=min(60, budgets.window_seconds),
        )


def _wait(oldest: object, now: datetime, budgets: Budgets) -> int:
    """Seconds until the oldest counted hold leaves the budget's window."""
    if not isinstance(oldest, datetime):
        return budgets.window_seconds
    since = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
    left = (since + timedelta(seconds=budgets.window_seconds) - now).total_seconds()
    return max(1, math.ceil(left))


def record_source(session: Session, hold_id: str, source: HoldSource) -> None:
    """Write a new hold's source on its row (in the hold's transaction)."""
    session.execute(
        update(Hold)
        .where(Hold.id == hold_id)
        .values(
            source_address=source.address,
            source_origin=source.origin,
            source_key=source.key_id,
        )
    )


def minute_of(now: datetime) -> datetime:
    """The per-minute bucket of `now` (UTC, seconds zero)."""
    return now.astimezone(UTC).replace(second=0, microsecond=0)


def record_refusal(db: sessionmaker[Session], fixture_id: int, reason: str, now: datetime) -> None:
    """Count a refused request in its minute (in its own transaction, so it survives the
    refusal), and in the process's metrics; `fixture_id` 0 when the request named none."""
    metrics.count_refusal(reason)
    with write_session(db) as session:
        stmt = conflict_insert(database_kind(session), RiskCount).values(
            minute=minute_of(now), fixture_id=fixture_id, reason=reason[:32], count=1
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[RiskCount.minute, RiskCount.fixture_id, RiskCount.reason],
                set_={"count": RiskCount.count + 1},
            )
        )


def refusal_counts(
    session: Session, fixture_id: int | None = None, *, since: datetime | None = None
) -> dict[str, int]:
    """Refused requests by reason (since `since`, or ever), optionally for one fixture."""
    query = select(RiskCount.reason, func.sum(RiskCount.count)).group_by(RiskCount.reason)
    if fixture_id is not None:
        query = query.where(RiskCount.fixture_id == fixture_id)
    if since is not None:
        query = query.where(RiskCount.minute >= minute_of(since))
    return {reason: int(total) for reason, total in session.execute(query).tuples()}


@dataclass(frozen=True)
class MinuteCount:
    """Refused requests of one reason in one minute (all fixtures)."""

    minute: datetime
    reason: str
    count: int


def refusals_per_minute(
    session: Session, since: datetime, until: datetime | None = None
) -> list[MinuteCount]:
    """Refused requests per minute and reason from `since` (inclusive), oldest first."""
    query = (
        select(RiskCount.minute, RiskCount.reason, func.sum(RiskCount.count))
        .where(RiskCount.minute >= minute_of(since))
        .group_by(RiskCount.minute, RiskCount.reason)
        .order_by(RiskCount.minute, RiskCount.reason)
    )
    if until is not None:
        query = query.where(RiskCount.minute <= minute_of(until))
    return [MinuteCount(m, r, int(c)) for m, r, c in session.execute(query).tuples()]
