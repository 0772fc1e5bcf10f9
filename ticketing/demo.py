"""Loads a club (by default the demo club in `data/demo/`) into an empty database.

Four files describe a club: `club.yml` (venue, competitions, teams, fixtures),
`stadium.yml` (the seating layout), `pricing.yml` (categories, demand multipliers)
and `policies.yml` (selling, risk and fee rules, read by `ticketing.policies`).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.clock import utcnow
from ticketing.errors import DemoDataError
from ticketing.fixtures import create_fixture
from ticketing.models import Competition, Fixture, Team, Venue
from ticketing.policies import Policies, current_policies
from ticketing.pricing import read_price_list
from ticketing.schedule import WEEKDAYS, relative_kickoff
from ticketing.venues import build_venue, read_stadium

DEMO_FILE = Path(__file__).resolve().parent.parent / "data" / "demo" / "club.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VenueSpec(_Strict):
    id: str
    name_en: str
    name_zh: str
    timezone: str


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
    club: str
    venue: VenueSpec
    competitions: list[CompetitionSpec] = []
    teams: list[TeamSpec]
    fixtures: list[FixtureSpec]


def read_club(path: Path = DEMO_FILE) -> ClubSpec:
    """Parse and validate the club file; errors name the file and the entry."""
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
    for index, fixture in enumerate(spec.fixtures):
        for side in (fixture.home, fixture.away):
            if side not in team_ids:
                raise DemoDataError(
                    f"{path}: fixtures.{index}: unknown team {side!r}", field=f"fixtures.{index}"
                )
    return spec


def load_demo_data(
    session: Session,
    path: Path = DEMO_FILE,
    today: date | None = None,
    *,
    policies: Policies | None = None,
) -> bool:
    """Load the club unless fixtures exist already; True when something was loaded.

    The stadium and price files are read from the club file's folder.
    """
    if session.scalar(select(Fixture.id).limit(1)) is not None:
        return False
    spec = read_club(path)
    stadium = read_stadium(path.parent / "stadium.yml")
    prices = read_price_list(path.parent / "pricing.yml")
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
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, so the planner uses the seat indexes from the first sale on.
        session.execute(text("ANALYZE seats"))
        session.execute(text("ANALYZE sections"))
    return True
