"""Working out which match a fan means: an id from a button, a team, a nickname, a date."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from knowledge.vocabulary import vocabulary
from knowledge.when import parse_when
from ticketing.club import current_club
from ticketing.fixtures import FixtureListing, find_team, fixture_listings, teams_in
from ticketing.schedule import local_window


def candidate_fixtures(
    session: Session,
    *,
    fixture_values: list[str],
    team_values: list[str],
    date_values: list[str],
    text: str,
    now: datetime,
) -> list[FixtureListing]:
    """Upcoming fixtures matching what the fan said, soonest first (all when they said nothing)."""
    club = current_club(session)
    listings = [f for f in fixture_listings(session, now=now) if f.summary.kickoff > now]
    for value in fixture_values:
        if value.isdigit():
            return [f for f in listings if f.summary.id == int(value)]
    team_ids: set[str] = set()
    for value in [*fixture_values, *team_values]:
        team = find_team(session, value)
        opponent = team.id if team is not None else vocabulary().fixture_team(value)
        if opponent and opponent != club.home_team_id:
            team_ids.add(opponent)
    if not team_ids and not fixture_values:
        nickname = vocabulary().fixture_team(text)
        if nickname:
            team_ids.add(nickname)
        else:  # a name the entity extractor missed ("tix for northgate pls")
            team_ids |= {t.id for t in teams_in(session, text) if t.id != club.home_team_id}
    if team_ids:
        listings = [
            f
            for f in listings
            if {f.summary.home_en, f.summary.away_en} & _names(session, team_ids)
        ]
    today = now.astimezone(club.zone).date()
    period = parse_when(" ".join(date_values), today) if date_values else None
    if period is None and not team_ids:
        period = parse_when(text, today)
    if period is not None:
        lower, upper = local_window(period.start, period.end, club.time_zone)
        listings = [f for f in listings if lower <= f.summary.kickoff < upper]
    return listings


def _names(session: Session, team_ids: set[str]) -> set[str]:
    names = set()
    for team_id in team_ids:
        team = find_team(session, team_id)
        if team is not None:
            names.add(team.name_en)
    return names
