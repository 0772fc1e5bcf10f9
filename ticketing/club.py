"""The club the desk serves, as fans read its name (from its data: the team whose id is
the club's in `data/demo/club.yml`)."""

from __future__ import annotations

from functools import lru_cache

from ticketing.demo import read_club


@lru_cache(maxsize=4)
def club_name(language: str | None) -> str:
    """The club's name in `language` (English for a language the data doesn't have)."""
    spec = read_club()
    team = next((t for t in spec.teams if t.id == spec.club), None)
    if team is None:
        return spec.club
    return team.name_zh if language == "zh" else team.name_en
