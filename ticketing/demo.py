"""Loads the demo club (`data/demo/club.yml`) into an empty database."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.db import utcnow
from ticketing.errors import DemoDataError
from ticketing.models import Fixture, Team, Venue
from ticketing.schedule import WEEKDAYS, relative_kickoff

DEMO_FILE = Path(__file__).resolve().parent.parent / "data" / "demo" / "club.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VenueSpec(_Strict):
    id: str
    name_en: str
    name_zh: str
    timezone: str


class TeamSpec(_Strict):
    id: str
    name_en: str
    name_zh: str
    aliases: list[str] = []


class FixtureSpec(_Strict):
    home: str
    away: str
    competition: str
    week: int
    day: str
    time: str
    demand: Literal["low", "normal", "high", "very_high"] = "normal"

    @field_validator("day")
    @classmethod
    def _weekday(cls, value: str) -> str:
        if value not in WEEKDAYS:
            raise ValueError(f"day must be one of {', '.join(WEEKDAYS)}")
        return value


class ClubSpec(_Strict):
    club: str
    venue: VenueSpec
    teams: list[TeamSpec]
    fixtures: list[FixtureSpec]


def read_club(path: Path = DEMO_FILE) -> ClubSpec:
    """Parse and validate the demo club file; errors name the file and the entry."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = ClubSpec.model_validate(raw)
    except yaml.YAMLError as exc:
        raise DemoDataError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise DemoDataError(f"{path}: {where}: {first['msg']}") from exc
    team_ids = {team.id for team in spec.teams}
    for index, fixture in enumerate(spec.fixtures):
        for side in (fixture.home, fixture.away):
            if side not in team_ids:
                raise DemoDataError(f"{path}: fixtures.{index}: unknown team {side!r}")
    return spec


def load_demo_data(session: Session, path: Path = DEMO_FILE, today: date | None = None) -> bool:
    """Load the demo club unless fixtures exist already; True when something was loaded."""
    if session.scalar(select(Fixture.id).limit(1)) is not None:
        return False
    spec = read_club(path)
    today = today or utcnow().date()
    session.add(Venue(**spec.venue.model_dump()))
    session.add_all(Team(**team.model_dump()) for team in spec.teams)
    session.flush()
    for fixture in spec.fixtures:
        session.add(
            Fixture(
                competition=fixture.competition,
                home_team_id=fixture.home,
                away_team_id=fixture.away,
                venue_id=spec.venue.id,
                kickoff=relative_kickoff(
                    today, fixture.week, fixture.day, fixture.time, spec.venue.timezone
                ),
                demand=fixture.demand,
            )
        )
    session.flush()
    return True
