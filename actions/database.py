"""The action server's handle on the desk's database."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from core.db import engine_for, make_sessionmaker
from core.settings import get_settings


@lru_cache(maxsize=1)
def sessions() -> sessionmaker[Session]:
    """Session factory for DATABASE_URL (created on first use)."""
    return make_sessionmaker(engine_for(get_settings().database_url))
