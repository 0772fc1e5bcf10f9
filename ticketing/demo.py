"""Loads a club from its data folder (the setting `MATCHDAY_DATA_DIR`, by default the
demo club in `data/demo/`) into the database.

Four files describe a club: `club.yml` (the club's record, venue, competitions, teams,
fixtures), `stadium.yml` (the seating layout), `pricing.yml` (categories, demand
multipliers) and `policies.yml` (selling, risk and fee rules, read by
`ticketing.policies`). The club's record and its category names are written on every
load (a reload updates them); the ground and the season only into an empty database.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.settings import get_settings
from ticketing.club import forget_club
from ticketing.errors import DemoDataError
from ticketing.fixtures import create_fixture
from ticketing.models import ClubRecord, Competition, Fixture, PriceCategory, Team, Venue
from ticketing.policies import Policies, current_policies
from ticketing.pricing import PriceList, read_price_list
from ticketing.schedule import WEEKDAYS, relative_kickoff
from ticketing.store import store_for
from ticketing.venues import build_venue, read_stadium


def club_file() -> Path:
    """The club file of the configured data folder (`MATCHDAY_DATA_DIR`)."""
    return get_settings().data_dir / "club.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordSpec(_Strict):
    """The club itself: names, the prefix of its order references, its own team."""

    id: str
    name_en: str
    name_zh: str
    short_name_en: str | None = None  # the full name when not given
    short_name_zh: str | None = None
    order_prefix: str = Field(pattern=r"^[A-Z]{2,4}$")
    home_team: str


class VenueSpec(_Strict):
    """The club's ground; its time zone is the club's."""

    id: str
    name_en: str
    name_zh: str
    timezone: str

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as Europe/London)"
            ) from exc
        return value


class CompetitionSpec(_Strict):
    id: str
    name_zh: str = ""


class TeamSpec(_Strict):
    id: str
    name_en: str
    name_zh: str
    aliases: list[str] = []


class FixtureSpec(_Strict):
    """A fixture: either relative (`week`, `day`, `time`) or absolute (`kickoff`)."""

    home: str
    away: str
    competition: str
    week: int | None = None
    day: str | None = None
    time: str | None = None
    kickoff: datetime | None = None
    demand: Literal["low", "normal", "high", "very_high"] = "normal"

    @field_validator("day")
    @classmethod
    def _weekday(cls, value: str | None) -> str | None:
        if value is not None and value not in WEEKDAYS:
            raise ValueError(f"day must be one of {', '.join(WEEKDAYS)}")
        return value

    @model_validator(mode="after")
    def _when(self) -> FixtureSpec:
        relative = (self.week, self.day, self.time)
        if self.kickoff is None and None in relative:
            raise ValueError("give either kickoff or week, day and time")
        if self.kickoff is not None and self.kickoff.tzinfo is None:
            raise ValueError("kickoff needs a time zone offset")
        return self


class ClubSpec(_Strict):
    club: RecordSpec
    venue: VenueSpec
    competitions: list[CompetitionSpec] = []
    teams: list[TeamSpec]
    fixtures: list[FixtureSpec]


def read_club(path: Path | None = None) -> ClubSpec:
    """Parse and validate the club file (the configured one by default); errors name the
    file and the entry."""
    path = path or club_file()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = ClubSpec.model_validate(raw)
    except OSError as exc:
        raise DemoDataError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise DemoDataError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise DemoDataError(f"{path}: {where}: {first['msg']}", field=where) from exc
    team_ids = {team.id for team in spec.teams}
    if spec.club.home_team not in team_ids:
        raise DemoDataError(
            f"{path}: club.home_team: unknown team {spec.club.home_team!r}",
            field="club.home_team",
        )
    for index, fixture in enumerate(spec.fixtures):
        for side in (fixture.home, fixture.away):
            if side not in team_ids:
                raise DemoDataError(
                    f"{path}: fixtures.{index}: unknown team {side!r}", field=f"fixtures.{index}"
                )
    return spec


def load_demo_data(
    session: Session,
    path: Path | None = None,
    today: date | None = None,
    *,
    policies: Policies | None = None,
) -> bool:
    """Load the club from its club file (the configured one by default); True when the
    ground and the season were loaded, False when fixtures existed already.

    The club's record and its category names are written either way (a reload updates
    them); the stadium and price files are read from the club file's folder.
    """
    path = path or club_file()
    spec = read_club(path)
    prices = read_price_list(path.parent / "pricing.yml")
    if session.scalar(select(Fixture.id).limit(1)) is not None:
        _store_club(session, spec, prices, path)
        return False
    stadium = read_stadium(path.parent / "stadium.yml")
    if stadium.venue != spec.venue.id:
        raise DemoDataError(
            f"{path.parent / 'stadium.yml'}: venue: {stadium.venue!r} is not the club's venue "
            f"{spec.venue.id!r}",
            field="venue",
        )
    categories = {s.category for stand in stadium.stands for s in stand.sections}
    missing = sorted(categories - set(prices.categories))
    if missing:
        raise DemoDataError(
            f"{path.parent / 'pricing.yml'}: categories: no price for {missing}",
            field="categories",
        )
    policies = policies or current_policies()
    today = today or utcnow().date()
    session.add(Venue(**spec.venue.model_dump(), address=stadium.address))
    session.add_all(Competition(id=c.id, name_zh=c.name_zh) for c in spec.competitions)
    session.add_all(Team(**team.model_dump()) for team in spec.teams)
    session.flush()
    _store_club(session, spec, prices, path)
    build_venue(session, stadium)
    for fixture in spec.fixtures:
        kickoff = fixture.kickoff
        if kickoff is None:
            assert fixture.week is not None and fixture.day and fixture.time
            kickoff = relative_kickoff(
                today, fixture.week, fixture.day, fixture.time, spec.venue.timezone
            )
        create_fixture(
            session,
            home_team_id=fixture.home,
            away_team_id=fixture.away,
            venue_id=spec.venue.id,
            competition=fixture.competition,
            kickoff=kickoff,
            demand=fixture.demand,
            prices=prices,
            policies=policies,
        )
    session.flush()
    store_for(session).refresh_statistics(session, ["seats", "sections"])
    return True


def _store_club(session: Session, spec: ClubSpec, prices: PriceList, path: Path) -> None:
    """Insert or update the club's record and its category names (one club per database)."""
    record = spec.club
    other = session.scalar(select(ClubRecord.id).where(ClubRecord.id != record.id).limit(1))
    if other is not None:
        raise DemoDataError(
            f"{path}: club.id: this database holds the club {other!r}, not {record.id!r}",
            field="club.id",
        )
    if session.get(Venue, spec.venue.id) is None:
        raise DemoDataError(
            f"{path}: venue.id: the venue {spec.venue.id!r} is not in this database",
            field="venue.id",
        )
    if session.get(Team, record.home_team) is None:
        raise DemoDataError(
            f"{path}: club.home_team: the team {record.home_team!r} is not in this database",
            field="club.home_team",
        )
    session.merge(
        ClubRecord(
            id=record.id,
            name_en=record.name_en,
            name_zh=record.name_zh,
            short_name_en=record.short_name_en or record.name_en,
            short_name_zh=record.short_name_zh or record.name_zh,
            order_prefix=record.order_prefix,
            home_team_id=record.home_team,
            venue_id=spec.venue.id,
        )
    )
    for key, category in prices.categories.items():
        session.merge(PriceCategory(id=key, name_en=category.name_en, name_zh=category.name_zh))
    session.flush()
    forget_club(session)
