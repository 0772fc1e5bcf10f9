"""The action server's handle on the desk's database, and on the club it serves."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from core.db import engine_for, make_sessionmaker
from core.settings import get_settings
from ticketing.club import Club, current_club


@lru_cache(maxsize=1)
def sessions() -> sessionmaker[Session]:
    """Session factory for DATABASE_URL (created on first use)."""
    return make_sessionmaker(engine_for(get_settings().database_url))


def club() -> Club:
    """The club whose desk this is: names, order prefix, own team, time zone."""
    with sessions()() as session:
        return current_club(session)
