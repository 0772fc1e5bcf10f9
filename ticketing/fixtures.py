"""Finding fixtures: what is on, when, and against whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ticketing.models import Fixture, Team


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
