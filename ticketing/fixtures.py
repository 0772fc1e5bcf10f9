"""Fixtures: what is on, when, against whom, and how many seats are left.

Availability is computed from `seat_claims` (a held claim counts until it
expires), so it is exact at the moment of the query and excludes held seats.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import table_of
from ticketing.errors import NotFound
from ticketing.models import Fixture, FixturePrice, Seat, SeatClaim, Section, Team
from ticketing.policies import Policies, current_policies
from ticketing.pricing import PriceList, fixture_prices
from ticketing.venues import seat_label

SaleState = Literal["not_yet", "presale", "on_sale", "closed", "cancelled"]


@dataclass(frozen=True)
class FixtureSummary:
    """What a fan needs to recognise a match."""

    id: int
    home_en: str
    home_zh: str
    away_en: str
    away_zh: str
    competition: str
    kickoff: datetime
    status: str
    timezone: str


@dataclass(frozen=True)
class FixtureListing:
    """A fixture with its live availability and lowest adult price."""

    summary: FixtureSummary
    demand: str
    capacity: int
    available: int
    price_from: int | None
    currency: str
    sale: SaleState


@dataclass(frozen=True)
class SectionAvailability:
    """A section of a fixture: category, adult price and seats left."""

    id: int
    code: str
    stand_en: str
    stand_zh: str
    category: str
    zone: str
    accessible: bool
    view_note: str
    price: int
    currency: str
    capacity: int
    available: int


@dataclass(frozen=True)
class SeatStatus:
    """One seat of a section map."""

    id: int
    row: str
    number: int
    kind: str
    label: str
    status: Literal["available", "held", "sold"]


def _summary(fixture: Fixture) -> FixtureSummary:
    return FixtureSummary(
        id=fixture.id,
        home_en=fixture.home_team.name_en,
        home_zh=fixture.home_team.name_zh,
        away_en=fixture.away_team.name_en,
        away_zh=fixture.away_team.name_zh,
        competition=fixture.competition,
        kickoff=fixture.kickoff,
        status=fixture.status,
        timezone=fixture.venue.timezone,
    )


def active_claim(now: datetime) -> ColumnElement[bool]:
    """Claims that occupy their seat at `now`: sold, pending payment, or held and not expired."""
    return or_(SeatClaim.status != "held", SeatClaim.expires_at > now)


def sale_state(fixture: Fixture | FixtureRow, now: datetime) -> SaleState:
    """Where a fixture stands in its sale windows at `now`."""
    if fixture.status == "cancelled":
        return "cancelled"
    closes = fixture.sale_closes_at or fixture.kickoff
    if now >= closes:
        return "closed"
    if fixture.general_sale_opens_at is None or now >= fixture.general_sale_opens_at:
        return "on_sale"
    if fixture.presale_opens_at is not None and now >= fixture.presale_opens_at:
        return "presale"
    return "not_yet"


@dataclass(frozen=True)
class FixtureRow:
    """The columns selling needs, read without the team and venue joins."""

    id: int
    venue_id: str
    status: str
    kickoff: datetime
    presale_opens_at: datetime | None
    general_sale_opens_at: datetime | None
    sale_closes_at: datetime | None
    currency: str


@cache
def _row() -> Select[Any]:
    t = table_of(Fixture)
    return select(
        t.c.id,
        t.c.venue_id,
        t.c.status,
        t.c.kickoff,
        t.c.presale_opens_at,
        t.c.general_sale_opens_at,
        t.c.sale_closes_at,
        t.c.currency,
    ).where(t.c.id == bindparam("b_fixture"))


def fixture_row(session: Session, fixture_id: int) -> FixtureRow:
    """The selling columns of a fixture, or `NotFound`."""
    row = session.connection().execute(_row(), {"b_fixture": fixture_id}).one_or_none()
    if row is None:
        raise NotFound(f"no fixture {fixture_id}", field="fixture_id")
    return FixtureRow(*row)


RECENT_ROW_TTL_S = 1.0
_recent_rows: dict[tuple[str, int], tuple[float, FixtureRow]] = {}
_recent_lock = threading.Lock()


def recent_fixture_row(session: Session, fixture_id: int) -> FixtureRow:
    """`fixture_row` as this process read it at most `RECENT_ROW_TTL_S` seconds ago.

    For a first look only (its sale windows are compared with the caller's `now`, so
    a sale that opens on time is seen on time, but an edit of the fixture may be seen
    up to a second late): whoever acts on it checks the fixture again where it counts,
    as the first hold's claim statement does, and re-reads it before refusing a fan.
    """
    key = (str(getattr(session.get_bind(), "url", "")), fixture_id)
    with _recent_lock:
        found = _recent_rows.get(key)
    if found is not None and time.monotonic() - found[0] < RECENT_ROW_TTL_S:
        return found[1]
    row = fixture_row(session, fixture_id)
    with _recent_lock:
        if len(_recent_rows) > 1024:  # forget fixtures long past
            _recent_rows.clear()
        _recent_rows[key] = (time.monotonic(), row)
    return row


_prices_cache: dict[tuple[str, int], dict[str, int]] = {}


def prices_of(session: Session, fixture_id: int) -> dict[str, int]:
    """Adult price per category of a fixture (fixed when the fixture is created; cached)."""
    key = (str(getattr(session.get_bind(), "url", "")), fixture_id)
    cached = _prices_cache.get(key)
    if cached is None:
        cached = {
            category: amount
            for category, amount in session.execute(
                select(FixturePrice.category, FixturePrice.amount).where(
                    FixturePrice.fixture_id == fixture_id
                )
            ).tuples()
        }
        if cached:
            _prices_cache[key] = cached
    return cached


_currency_cache: dict[tuple[str, int], str] = {}


def currency_of(session: Session, fixture_id: int) -> str:
    """The currency a fixture is sold in (cached: it never changes)."""
    key = (str(getattr(session.get_bind(), "url", "")), fixture_id)
    cached = _currency_cache.get(key)
    if cached is None:
        found = session.scalar(select(Fixture.currency).where(Fixture.id == fixture_id))
        if found is None:
            raise NotFound(f"no fixture {fixture_id}", field="fixture_id")
        cached = _currency_cache[key] = found
    return cached


def get_fixture(session: Session, fixture_id: int) -> Fixture:
    """The fixture with `fixture_id`, or `NotFound`."""
    fixture = session.get(Fixture, fixture_id)
    if fixture is None:
        raise NotFound(f"no fixture {fixture_id}", field="fixture_id")
    return fixture


def create_fixture(
    session: Session,
    *,
    home_team_id: str,
    away_team_id: str,
    venue_id: str,
    competition: str,
    kickoff: datetime,
    demand: str,
    prices: PriceList,
    policies: Policies | None = None,
) -> Fixture:
    """Add a fixture with its sale windows (from the policies) and its prices per category."""
    policies = policies or current_policies()
    sales = policies.sales
    fixture = Fixture(
        competition=competition,
        home_team_id=home_team_id,
        away_team_id=away_team_id,
        venue_id=venue_id,
        kickoff=kickoff,
        demand=demand,
        currency=prices.currency,
        presale_opens_at=kickoff - timedelta(days=sales.presale_days),
        general_sale_opens_at=kickoff - timedelta(days=sales.general_days),
        sale_closes_at=kickoff - timedelta(hours=sales.close_hours),
    )
    session.add(fixture)
    session.flush()
    session.add_all(
        FixturePrice(fixture_id=fixture.id, category=category, amount=amount)
        for category, amount in fixture_prices(prices, demand).items()
    )
    return fixture


def list_fixtures(
    session: Session,
    *,
    after: datetime | None = None,
    before: datetime | None = None,
    team_id: str | None = None,
    limit: int = 20,
) -> list[FixtureSummary]:
    """Fixtures in kick-off order, optionally within [after, before) and with `team_id`."""
    query = select(Fixture).order_by(Fixture.kickoff).limit(limit)
    if after is not None:
        query = query.where(Fixture.kickoff >= after)
    if before is not None:
        query = query.where(Fixture.kickoff < before)
    if team_id is not None:
        query = query.where(or_(Fixture.home_team_id == team_id, Fixture.away_team_id == team_id))
    return [_summary(f) for f in session.scalars(query).unique()]


def find_team(session: Session, name: str) -> Team | None:
    """The team whose name or alias matches `name` (case-insensitive), if any."""
    wanted = name.strip().casefold()
    for team in session.scalars(select(Team)):
        names = [team.id, team.name_en, team.name_zh, *team.aliases]
        if wanted in (n.casefold() for n in names):
            return team
    return None


def teams_in(session: Session, text: str) -> list[Team]:
    """The teams a fan's sentence names, by name or alias ("tix for northgate pls")."""
    lowered = text.casefold()
    found: list[tuple[Team, str]] = []
    for team in session.scalars(select(Team)):
        names = sorted((team.name_en, team.name_zh, *team.aliases), key=len, reverse=True)
        for name in (n.casefold() for n in names if n):
            if name.isascii():
                hit = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", lowered) is not None
            else:
                hit = name in lowered
            if hit:
                found.append((team, name))
                break
    # "United" inside "Northgate United" is not Manchester United.
    return [t for t, n in found if not any(n != m and n in m for _, m in found)]


def _claims_by_section(
    session: Session, fixture_ids: list[int], now: datetime
) -> dict[tuple[int, int], int]:
    rows = session.execute(
        select(SeatClaim.fixture_id, SeatClaim.section_id, func.count())
        .where(SeatClaim.fixture_id.in_(fixture_ids), active_claim(now))
        .group_by(SeatClaim.fixture_id, SeatClaim.section_id)
    ).tuples()
    return {(f, s): n for f, s, n in rows}


def fixture_listings(
    session: Session,
    *,
    now: datetime | None = None,
    include_past: bool = False,
    team_id: str | None = None,
    limit: int = 50,
) -> list[FixtureListing]:
    """Upcoming fixtures with seats available (held seats excluded) and the lowest price."""
    now = now or utcnow()
    query = select(Fixture).order_by(Fixture.kickoff, Fixture.id).limit(limit)
    if not include_past:
        query = query.where(Fixture.kickoff > now - timedelta(hours=3))
    if team_id is not None:
        query = query.where(or_(Fixture.home_team_id == team_id, Fixture.away_team_id == team_id))
    fixtures = list(session.scalars(query).unique())
    if not fixtures:
        return []
    ids = [f.id for f in fixtures]
    sections = session.execute(
        select(Section.id, Section.venue_id, Section.category, Section.capacity)
    ).all()
    claims = _claims_by_section(session, ids, now)
    prices: dict[int, dict[str, int]] = {}
    for fid, category, amount in session.execute(
        select(FixturePrice.fixture_id, FixturePrice.category, FixturePrice.amount).where(
            FixturePrice.fixture_id.in_(ids)
        )
    ).tuples():
        prices.setdefault(fid, {})[category] = amount
    listings = []
    for fixture in fixtures:
        capacity = available = 0
        open_categories: set[str] = set()
        for section_id, venue_id, category, section_capacity in sections:
            if venue_id != fixture.venue_id:
                continue
            left = section_capacity - claims.get((fixture.id, section_id), 0)
            capacity += section_capacity
            available += left
            if left > 0:
                open_categories.add(category)
        fixture_prices_ = prices.get(fixture.id, {})
        offered = [fixture_prices_[c] for c in open_categories if c in fixture_prices_]
        listings.append(
            FixtureListing(
                summary=_summary(fixture),
                demand=fixture.demand,
                capacity=capacity,
                available=available,
                price_from=min(offered) if offered else None,
                currency=fixture.currency,
                sale=sale_state(fixture, now),
            )
        )
    return listings


def section_availability(
    session: Session, fixture_id: int, *, now: datetime | None = None
) -> list[SectionAvailability]:
    """Every section of the fixture's ground with its adult price and seats left."""
    now = now or utcnow()
    fixture = get_fixture(session, fixture_id)
    prices: dict[str, int] = {
        category: amount
        for category, amount in session.execute(
            select(FixturePrice.category, FixturePrice.amount).where(
                FixturePrice.fixture_id == fixture_id
            )
        ).tuples()
    }
    claims = _claims_by_section(session, [fixture_id], now)
    sections = session.scalars(
        select(Section).where(Section.venue_id == fixture.venue_id).order_by(Section.id)
    ).unique()
    return [
        SectionAvailability(
            id=s.id,
            code=s.code,
            stand_en=s.stand.name_en,
            stand_zh=s.stand.name_zh,
            category=s.category,
            zone=s.zone,
            accessible=s.accessible,
            view_note=s.view_note,
            price=prices.get(s.category, 0),
            currency=fixture.currency,
            capacity=s.capacity,
            available=s.capacity - claims.get((fixture_id, s.id), 0),
        )
        for s in sections
    ]


def seat_map(
    session: Session, fixture_id: int, section_id: int, *, now: datetime | None = None
) -> list[SeatStatus]:
    """The seats of one section with their status for the fixture (front row first)."""
    now = now or utcnow()
    fixture = get_fixture(session, fixture_id)
    section = session.get(Section, section_id)
    if section is None or section.venue_id != fixture.venue_id:
        raise NotFound(f"no section {section_id} at this fixture's ground", field="section_id")
    claim = and_(
        SeatClaim.fixture_id == fixture_id, SeatClaim.seat_id == Seat.id, active_claim(now)
    )
    rows = session.execute(
        select(Seat.id, Seat.row, Seat.number, Seat.kind, SeatClaim.status)
        .outerjoin(SeatClaim, claim)
        .where(Seat.section_id == section_id)
        .order_by(Seat.row_position, Seat.number)
    ).tuples()
    status_of: dict[str | None, Literal["available", "held", "sold"]] = {
        None: "available",
        "held": "held",
        "pending": "held",
        "sold": "sold",
    }
    return [
        SeatStatus(
            id=seat_id,
            row=row,
            number=number,
            kind=kind,
            label=seat_label(section.code, row, number),
            status=status_of[claim_status],
        )
        for seat_id, row, number, kind, claim_status in rows
    ]
