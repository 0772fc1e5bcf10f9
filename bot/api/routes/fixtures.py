"""Fixtures, sections, seat maps and seat recommendations (ticketing engine, read side).

Engine errors raised by any ticketing route become 4xx bodies in one place:
`domain_error()` in bot/api/errors.py, installed as an exception handler.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from bot.api.deps import ReadScope, Sessions
from bot.api.schemas import PRINTABLE, rfc3339
from ticketing.fixtures import fixture_listings, seat_map, section_availability
from ticketing.recommendations import recommend_seats

router = APIRouter(prefix="/api/v1/fixtures", tags=["ticketing"], dependencies=[ReadScope])

CUSTOMER = r"^[a-z][a-z0-9_]{0,15}:[^\s\x00-\x1f\x7f]{1,140}$"


class FixtureOut(BaseModel):
    id: int
    home: str
    away: str
    home_zh: str
    away_zh: str
    competition: str
    kickoff: str
    status: Literal["scheduled", "postponed", "cancelled"]
    sale: Literal["not_yet", "presale", "on_sale", "closed", "cancelled"]
    demand: str
    available: int
    price_from: int | None
    currency: str


class SectionOut(BaseModel):
    id: int
    name: str
    stand: str
    category: str
    zone: str
    price: int
    currency: str
    available: int
    accessible: bool
    view_note: str


class SeatOut(BaseModel):
    id: int
    row: str
    number: int
    label: str
    kind: str
    status: Literal["available", "held", "sold"]


class OptionOut(BaseModel):
    section_id: int
    section: str
    stand: str
    category: str
    row: str
    seat_ids: list[int]
    labels: list[str]
    price_each: int
    total: int
    currency: str
    near_previous: bool


FixtureId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SectionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def get_fixtures(
    sessions: Sessions,
    team: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[FixtureOut]:
    """Upcoming fixtures with seats available (held seats excluded) and the lowest price."""
    with sessions() as session:
        listings = fixture_listings(session, team_id=team, limit=limit)
    return [
        FixtureOut(
            id=f.summary.id,
            home=f.summary.home_en,
            away=f.summary.away_en,
            home_zh=f.summary.home_zh,
            away_zh=f.summary.away_zh,
            competition=f.summary.competition,
            kickoff=rfc3339(f.summary.kickoff),
            status=f.summary.status,
            sale=f.sale,
            demand=f.demand,
            available=f.available,
            price_from=f.price_from,
            currency=f.currency,
        )
        for f in listings
    ]


@router.get("/{fixture_id}/sections")
def get_sections(fixture_id: FixtureId, sessions: Sessions) -> list[SectionOut]:
    """Every section of the ground with its category, adult price and seats left."""
    with sessions() as session:
        sections = section_availability(session, fixture_id)
    return [
        SectionOut(
            id=s.id,
            name=s.code,
            stand=s.stand_en,
            category=s.category,
            zone=s.zone,
            price=s.price,
            currency=s.currency,
            available=s.available,
            accessible=s.accessible,
            view_note=s.view_note,
        )
        for s in sections
    ]


@router.get("/{fixture_id}/sections/{section_id}/seats")
def get_seats(fixture_id: FixtureId, section_id: SectionId, sessions: Sessions) -> list[SeatOut]:
    """The seat map of one section: every seat with available/held/sold."""
    with sessions() as session:
        seats = seat_map(session, fixture_id, section_id)
    return [
        SeatOut(id=s.id, row=s.row, number=s.number, label=s.label, kind=s.kind, status=s.status)
        for s in seats
    ]


@router.get("/{fixture_id}/recommendations")
def get_recommendations(
    fixture_id: FixtureId,
    sessions: Sessions,
    quantity: Annotated[int, Query(ge=1, le=50)],
    category: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
    budget: Annotated[int | None, Query(ge=0, le=10**9)] = None,
    customer: Annotated[str | None, Query(pattern=CUSTOMER)] = None,
    section_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[OptionOut]:
    """The best free adjacent seats for a group, near the fan's earlier seats; nothing is held."""
    with sessions() as session:
        options = recommend_seats(
            session,
            fixture_id,
            quantity,
            category=category,
            budget=budget,
            customer=customer,
            section_id=section_id,
        )
    return [
        OptionOut(
            section_id=o.section_id,
            section=o.section,
            stand=o.stand_en,
            category=o.category,
            row=o.row,
            seat_ids=o.seat_ids,
            labels=o.labels,
            price_each=o.price_each,
            total=o.total,
            currency=o.currency,
            near_previous=o.near_previous,
        )
        for o in options
    ]
