"""Seat recommendation: the best free adjacent seats for a group, near where the fan sat before.

Sections are ranked by view (`sections.rank`), moved forward when the fan
bought there (or in the same stand) before; within a section, blocks of adjacent
seats in one row are ranked by the seats' `quality` (row about a third back,
centre of the row). Away and accessible sections are only offered when asked for.
"""

from __future__ import annotations

import random
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Engine, and_, bindparam, func, literal_column, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import table_of
from ticketing.errors import InvalidQuantity, NotFound
from ticketing.fixtures import FixtureRow, get_fixture, prices_of
from ticketing.models import Fixture, Seat, SeatClaim, Ticket
from ticketing.store import store_for
from ticketing.venues import seat_label, venue_sections

SAME_SECTION_BONUS = 100
SAME_STAND_BONUS = 60
_TOP_SEATS = 160  # free seats read per section when recommending
_FIRST_BLOCKS = 16  # candidate blocks a hold reads per section (more when spreading wider)


class FreeSeat(NamedTuple):
    """A free seat of a section (a named tuple: holds build dozens per look)."""

    id: int
    row: str
    row_position: int
    number: int
    kind: str
    quality: int


@dataclass(frozen=True)
class SectionChoice:
    """A section that can take the group, with its adult price and seats left."""

    id: int
    code: str
    stand_id: int
    stand_en: str
    stand_zh: str
    category: str
    zone: str
    price: int
    available: int
    score: int
    familiar: bool


@dataclass(frozen=True)
class SeatOption:
    """A recommended block of adjacent seats in one row."""

    section_id: int
    section: str
    stand_en: str
    stand_zh: str
    category: str
    row: str
    seat_ids: list[int]
    labels: list[str]
    price_each: int
    total: int
    currency: str
    near_previous: bool


def _history(session: Session, customer_id: int | None) -> Counter[int]:
    if customer_id is None:
        return Counter()
    rows = session.execute(
        select(Seat.section_id, func.count())
        .join(Ticket, Ticket.seat_id == Seat.id)
        .where(Ticket.holder_id == customer_id)
        .group_by(Seat.section_id)
    ).tuples()
    return Counter({section_id: n for section_id, n in rows})


def candidate_sections(
    session: Session,
    fixture: Fixture | FixtureRow,
    quantity: int,
    *,
    now: datetime,
    section_id: int | None = None,
    category: str | None = None,
    budget: int | None = None,
    customer_id: int | None = None,
    claimed: dict[int, int] | None = None,
) -> list[SectionChoice]:
    """Sections with at least `quantity` free seats that match the request, best first.

    `claimed` gives the claimed seats per section when the caller has counted them
    (see `claimed_counts`); by default they are counted now.
    """
    sections = venue_sections(session, fixture.venue_id)
    if section_id is not None:
        sections = [s for s in sections if s.id == section_id]
        if not sections:
            raise NotFound(f"no section {section_id} at this fixture's ground", field="section_id")
    elif category is not None:
        sections = [s for s in sections if s.category == category]
    else:
        sections = [s for s in sections if s.zone not in ("away", "accessible")]
    prices = prices_of(session, fixture.id)
    if claimed is None:
        claimed, _shared = claimed_counts(session, fixture.id, now)
    history = _history(session, customer_id)
    stands_seen = {s.stand_id for s in venue_sections(session, fixture.venue_id) if s.id in history}
    choices = []
    for section in sections:
        price = prices.get(section.category)
        available = section.capacity - claimed.get(section.id, 0)
        if price is None or available < quantity:
            continue
        if budget is not None and price * quantity > budget:
            continue
        score = section.rank
        if section.id in history:
            score -= SAME_SECTION_BONUS
        elif section.stand_id in stands_seen:
            score -= SAME_STAND_BONUS
        choices.append(
            SectionChoice(
                id=section.id,
                code=section.code,
                stand_id=section.stand_id,
                stand_en=section.stand_en,
                stand_zh=section.stand_zh,
                category=section.category,
                zone=section.zone,
                price=price,
                available=available,
                score=score,
                familiar=section.id in history or section.stand_id in stands_seen,
            )
        )
    choices.sort(key=lambda c: (c.score, c.price, c.id))
    return choices


CLAIMED_TTL_S = 1.0
_claimed_cache: weakref.WeakKeyDictionary[
    Engine, dict[int, tuple[float, datetime, dict[int, int]]]
] = weakref.WeakKeyDictionary()


def claimed_counts(
    session: Session, fixture_id: int, now: datetime, *, shared: bool = False
) -> tuple[dict[int, int], bool]:
    """Claimed seats per section of a fixture (held, pending or sold at `now`).

    Returns the counts and whether they are a shared earlier count. Counting every
    claim of a fixture costs the database a scan that grows with sales, so holds
    (`shared=True`) share one count per process for up to `CLAIMED_TTL_S` seconds.
    A stale count only changes which section is tried first: the free seats
    themselves are always read fresh, and the sale store's atomic claim decides who
    gets a seat.
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else None
    per_fixture = _claimed_cache.get(engine) if engine is not None else None
    entry = per_fixture.get(fixture_id) if shared and per_fixture is not None else None
    if entry is not None:
        counted_at, counted_now, counts = entry
        fresh_enough = time.monotonic() - counted_at < CLAIMED_TTL_S
        if fresh_enough and abs(now - counted_now) < timedelta(seconds=CLAIMED_TTL_S):
            return counts, True
    counts = {
        sid: n
        for sid, n in session.connection()
        .execute(
            _claimed(),
            {"b_fixture": fixture_id, "b_now": now},
        )
        .tuples()
    }
    if engine is not None:
        _claimed_cache.setdefault(engine, {})[fixture_id] = (time.monotonic(), now, counts)
    return counts, False


@cache
def _claimed() -> Any:
    claims = table_of(SeatClaim)
    now = bindparam("b_now", type_=claims.c.expires_at.type)
    return (
        select(claims.c.section_id, func.count())
        .where(
            claims.c.fixture_id == bindparam("b_fixture"),
            (claims.c.status != "held") | (claims.c.expires_at > now),
        )
        .group_by(claims.c.section_id)
    )


@cache
def _free(limited: bool) -> Any:
    claims, seats = table_of(SeatClaim), table_of(Seat)
    now = bindparam("b_now", type_=claims.c.expires_at.type)
    # A correlated scalar subquery, not NOT EXISTS: the planner cannot turn it into an
    # anti-join, so each candidate seat is one primary-key probe of seat_claims and the
    # scan stops after `b_limit` free seats. (With NOT EXISTS and the statistics of a
    # young seat_claims table, PostgreSQL chose a nested loop over every claim of the
    # fixture, growing with each sale: see docs/ticketing.md.)
    taken = (
        select(literal_column("1"))
        .where(
            claims.c.fixture_id == bindparam("b_fixture"),
            claims.c.seat_id == seats.c.id,
            (claims.c.status != "held") | (claims.c.expires_at > now),
        )
        .scalar_subquery()
    )
    query = (
        select(
            seats.c.id,
            seats.c.row,
            seats.c.row_position,
            seats.c.number,
            seats.c.kind,
            seats.c.quality,
        )
        .where(seats.c.section_id == bindparam("b_section"), taken.is_(None))
        .order_by(seats.c.quality, seats.c.id)
    )
    return query.limit(bindparam("b_limit")) if limited else query


def free_seats(
    session: Session, fixture_id: int, section_id: int, now: datetime, limit: int | None
) -> list[FreeSeat]:
    """Free seats of a section for a fixture, best view first (all of them when limit is None)."""
    limited = limit is not None
    query = _free(limited)
    params = {"b_fixture": fixture_id, "b_section": section_id, "b_now": now, "b_limit": limit}
    rows = session.connection().execute(query, params).tuples()
    return [FreeSeat(*row) for row in rows]


MAX_SQL_BLOCK = 8  # larger groups are found in Python from the free seats


@cache
def _blocks(quantity: int, windowed: bool) -> Any:
    claims, seats = table_of(SeatClaim), table_of(Seat)
    now = bindparam("b_now", type_=claims.c.expires_at.type)
    if windowed:
        # Only the `b_window` seats from quality `b_from` on are tried as first seats: a
        # plain index range scan, so the cost does not grow with the seats sold before.
        # (Not MATERIALIZED: inlined, its order is known and the scan stops at `b_limit`.)
        window = (
            select(
                seats.c.id,
                seats.c.section_id,
                seats.c.row,
                seats.c.row_position,
                seats.c.number,
                seats.c.kind,
                seats.c.quality,
            )
            .where(
                seats.c.section_id == bindparam("b_section"),
                seats.c.quality >= bindparam("b_from"),
            )
            .order_by(seats.c.quality, seats.c.id)
            .limit(bindparam("b_window"))
            .cte("window")
        )
        first: Any = window
    else:
        first = seats.alias("s0")
    parts = [first, *(seats.alias(f"s{k}") for k in range(1, quantity))]

    def free(seat: Any) -> Any:
        # The same correlated probe as `_free`: one primary-key lookup per seat.
        return (
            select(literal_column("1"))
            .where(
                claims.c.fixture_id == bindparam("b_fixture"),
                claims.c.seat_id == seat.c.id,
                (claims.c.status != "held") | (claims.c.expires_at > now),
            )
            .scalar_subquery()
            .is_(None)
        )

    query = select(
        first.c.id,
        first.c.row,
        first.c.row_position,
        first.c.number,
        first.c.kind,
        first.c.quality,
        *(column for part in parts[1:] for column in (part.c.id, part.c.kind, part.c.quality)),
    ).select_from(first)
    for k, part in enumerate(parts[1:], start=1):
        query = query.join(
            part,
            and_(
                part.c.section_id == first.c.section_id,
                part.c.row == first.c.row,
                part.c.number == first.c.number + k,
            ),
        )
    conditions = [first.c.kind != "companion", *(free(part) for part in parts)]
    if not windowed:
        conditions.append(first.c.section_id == bindparam("b_section"))
    return (
        query.where(*conditions).order_by(first.c.quality, first.c.id).limit(bindparam("b_limit"))
    )


WATERMARK_TTL_S = 2.0
_WINDOW = 256  # seats a windowed look may try as first seats of a block
# (fixture, section, quantity) -> (when, view of the best block then, None: no block)
_watermarks: weakref.WeakKeyDictionary[
    Engine, dict[tuple[int, int, int], tuple[float, int | None]]
] = weakref.WeakKeyDictionary()


def free_blocks(
    session: Session,
    fixture_id: int,
    section_id: int,
    now: datetime,
    quantity: int,
    limit: int,
    *,
    shared: bool = False,
) -> list[list[FreeSeat]]:
    """Blocks of `quantity` adjacent free seats of a section, best average quality first.

    The database finds the blocks (the `limit` whose first seat has the best view),
    so a section whose best free seats are scattered singles costs one query, not a
    read of every free seat. Same rules as `adjacent_blocks`.

    Each process remembers for `WATERMARK_TTL_S` seconds the view of the best block
    it found in a section: no better seat began a block then, so the next look
    starts there and reads a short window of seats instead of walking past every
    seat sold before. If that window holds no block (or the mark is older), the
    whole section is searched again. With `shared`, a section found without a
    block is passed over for that time too (a hold then tries the next section).
    A seat freed meanwhile below the mark, or in such a section, is thus offered
    again within that time; who gets a seat is still decided by the sale store's claim.
    """
    if quantity > MAX_SQL_BLOCK:
        return adjacent_blocks(free_seats(session, fixture_id, section_id, now, None), quantity)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else None
    marks = _watermarks.setdefault(engine, {}) if engine is not None else {}
    key = (fixture_id, section_id, quantity)
    mark = marks.get(key)
    store = store_for(session)
    params: dict[str, Any] = {
        "b_fixture": fixture_id,
        "b_section": section_id,
        "b_now": now,
        "b_limit": limit,
    }
    rows: list[Any] = []
    recent = mark is not None and time.monotonic() - mark[0] < WATERMARK_TTL_S
    if mark is not None and recent and mark[1] is None:
        if shared:
            return []  # no block here a moment ago
    elif mark is not None and recent:
        query = _blocks(quantity, True)
        window = max(_WINDOW, 4 * limit)
        rows = store.rows(session, query, {**params, "b_from": mark[1], "b_window": window})
        if len(rows) < limit:
            rows = []  # the window ran short: search the whole section
        elif rows[0][5] > mark[1]:
            marks[key] = (mark[0], rows[0][5])  # no block began lower in the window
    if not rows:
        query = _blocks(quantity, False)
        rows = store.rows(session, query, params)
        marks[key] = (time.monotonic(), rows[0][5] if rows else None)
    blocks: list[tuple[int, int, list[FreeSeat]]] = []
    for row in rows:
        seat_id, row_label, position, number, kind, quality = row[:6]
        block = [FreeSeat(seat_id, row_label, position, number, kind, quality)]
        total = quality
        for k in range(1, quantity):
            other_id, other_kind, other_quality = row[3 * k + 3 : 3 * k + 6]
            block.append(
                FreeSeat(other_id, row_label, position, number + k, other_kind, other_quality)
            )
            total += other_quality
        blocks.append((total, seat_id, block))
    blocks.sort(key=lambda item: (item[0], item[1]))
    return [block for _total, _id, block in blocks]


def adjacent_blocks(seats: list[FreeSeat], quantity: int) -> list[list[FreeSeat]]:
    """Runs of `quantity` consecutive seat numbers in one row, best average quality first.

    On accessible platforms a block starts at a wheelchair space, so each space keeps
    the companion seat beside it.
    """
    by_row: dict[str, dict[int, FreeSeat]] = {}
    for seat in seats:
        by_row.setdefault(seat.row, {})[seat.number] = seat
    blocks: list[tuple[float, list[FreeSeat]]] = []
    for row in by_row.values():
        for number, first in row.items():
            if first.kind == "companion":
                continue
            block = [row.get(number + k) for k in range(quantity)]
            if all(block):
                chosen = [s for s in block if s is not None]
                blocks.append((sum(s.quality for s in chosen) / quantity, chosen))
    blocks.sort(key=lambda item: (item[0], item[1][0].id))
    return [block for _score, block in blocks]


def disjoint(blocks: list[list[FreeSeat]], limit: int) -> list[list[FreeSeat]]:
    """The first `limit` blocks (in the given order) that share no seat with an earlier one."""
    taken: set[int] = set()
    kept: list[list[FreeSeat]] = []
    for block in blocks:
        ids = {seat.id for seat in block}
        if taken.isdisjoint(ids):
            kept.append(block)
            taken |= ids
            if len(kept) == limit:
                break
    return kept


def choose_seats(
    session: Session,
    fixture: Fixture | FixtureRow,
    quantity: int,
    *,
    now: datetime,
    section_id: int | None = None,
    category: str | None = None,
    customer_id: int | None = None,
    spread: int = 1,
) -> tuple[SectionChoice, list[FreeSeat]] | None:
    """Seats for a best-available hold: an adjacent block if one exists, else the best singles.

    `spread` > 1 picks at random among that many top blocks that share no seat, so
    buyers racing for the same section do not all reach for the very same seats
    (overlapping blocks, seats 1-2 and 2-3, would collide as surely as one block).
    Within a process, blocks handed out in the last `HANDED_OUT_TTL_S` seconds are
    passed over while others are left: the buyer beside us is probably claiming them.
    """
    chosen = choose_seat_options(
        session,
        fixture,
        quantity,
        now=now,
        section_id=section_id,
        category=category,
        customer_id=customer_id,
        spread=spread,
    )
    return None if chosen is None else (chosen[0], chosen[1][0])


def choose_seat_options(
    session: Session,
    fixture: Fixture | FixtureRow,
    quantity: int,
    *,
    now: datetime,
    section_id: int | None = None,
    category: str | None = None,
    customer_id: int | None = None,
    spread: int = 1,
) -> tuple[SectionChoice, list[list[FreeSeat]]] | None:
    """`choose_seats`, with the other blocks of the same section to try, in order.

    The first block is the one `choose_seats` gives; the others are the remaining
    disjoint top blocks in random order, for when another buyer claims the first one
    meanwhile (a buyer in another process: this process's own buyers are kept apart).
    """
    chosen = None
    for shared in (True, False):
        # First with what this process learnt a moment ago (seat counts, sections found
        # without a block); if that finds nothing, seats may have been freed: look anew.
        claimed, _shared = claimed_counts(session, fixture.id, now, shared=shared)
        sections = candidate_sections(
            session,
            fixture,
            quantity,
            now=now,
            section_id=section_id,
            category=category,
            customer_id=customer_id,
            claimed=claimed,
        )
        chosen = _choose_in(
            session, fixture.id, sections, quantity, now=now, spread=spread, shared=shared
        )
        if chosen is not None:
            break
    return chosen


HANDED_OUT_TTL_S = 2.0
_handed_out: weakref.WeakKeyDictionary[Engine, dict[int, float]] = weakref.WeakKeyDictionary()


def _hand_out(handed: dict[int, float], block: list[FreeSeat]) -> None:
    at = time.monotonic()
    if len(handed) > 4096:  # forget what is long past
        for seat_id, when in list(handed.items()):
            if when < at - HANDED_OUT_TTL_S:
                handed.pop(seat_id, None)
    for seat in block:
        handed[seat.id] = at


def _choose_in(
    session: Session,
    fixture_id: int,
    sections: list[SectionChoice],
    quantity: int,
    *,
    now: datetime,
    spread: int,
    shared: bool,
) -> tuple[SectionChoice, list[list[FreeSeat]]] | None:
    limit = max(_FIRST_BLOCKS, 2 * spread)
    bind = session.get_bind()
    handed = _handed_out.setdefault(bind, {}) if isinstance(bind, Engine) else {}
    for choice in sections:
        found = free_blocks(session, fixture_id, choice.id, now, quantity, limit, shared=shared)
        if not found:
            continue
        if spread <= 1:
            return choice, disjoint(found, 1)
        since = time.monotonic() - HANDED_OUT_TTL_S
        fresh = [b for b in found if all(handed.get(s.id, 0.0) < since for s in b)]
        blocks = disjoint(fresh or found, spread)
        random.shuffle(blocks)
        _hand_out(handed, blocks[0])
        return choice, blocks
    for choice in sections:
        seats = free_seats(session, fixture_id, choice.id, now, quantity * spread)
        if len(seats) >= quantity:
            start = random.randrange(0, len(seats) - quantity + 1)
            return choice, [seats[start : start + quantity]]
    return None


def recommend_seats(
    session: Session,
    fixture_id: int,
    quantity: int,
    category: str | None = None,
    budget: int | None = None,
    customer: str | None = None,
    *,
    section_id: int | None = None,
    limit: int = 3,
    now: datetime | None = None,
) -> list[SeatOption]:
    """Up to `limit` blocks of adjacent free seats, best first; nothing is held.

    `budget` is the most the group wants to pay in total (minor units, adult prices);
    `customer` (an external id) brings the fan's earlier seats forward.
    """
    from ticketing.customers import lookup_customer

    if not 1 <= quantity <= 50:
        raise InvalidQuantity("quantity must be between 1 and 50", field="quantity")
    now = now or utcnow()
    fixture = get_fixture(session, fixture_id)
    customer_id = lookup_customer(session, customer) if customer else None
    sections = candidate_sections(
        session,
        fixture,
        quantity,
        now=now,
        section_id=section_id,
        category=category,
        budget=budget,
        customer_id=customer_id,
    )
    options: list[SeatOption] = []
    for choice in sections:
        seats = free_seats(session, fixture.id, choice.id, now, _TOP_SEATS)
        for block in adjacent_blocks(seats, quantity)[:1]:
            options.append(
                SeatOption(
                    section_id=choice.id,
                    section=choice.code,
                    stand_en=choice.stand_en,
                    stand_zh=choice.stand_zh,
                    category=choice.category,
                    row=block[0].row,
                    seat_ids=[s.id for s in block],
                    labels=[seat_label(choice.code, s.row, s.number) for s in block],
                    price_each=choice.price,
                    total=choice.price * quantity,
                    currency=fixture.currency,
                    near_previous=choice.familiar,
                )
            )
        if len(options) >= limit:
            break
    return options
