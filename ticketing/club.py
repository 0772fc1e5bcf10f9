"""The club the desk sells for, as data: its names, order prefix, own team and time zone.

A desk serves one club. Its record (the `clubs` row that `ticketing.demo` writes from
the club's data folder) is where every layer reads the club's names, the prefix of its
order references, which team is the club's own, and the local time fans live in (its
ground's time zone). Nothing about a particular club is in the code: a second club is
a second data folder.

The record changes only when the data folder is loaded again, so a process reads it
once per database and keeps it; a process started before such a reload sees the new
record after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from ticketing.errors import ClubNotLoaded, DemoDataError
from ticketing.models import ClubRecord, Venue


@dataclass(frozen=True)
class Club:
    """The club's record, with its ground's time zone (an IANA name, "Asia/Shanghai")."""

    id: str
    name_en: str
    name_zh: str
    short_name_en: str
    short_name_zh: str
    order_prefix: str  # "RA": order references read RA-7KX2QD
    home_team_id: str
    venue_id: str
    time_zone: str

    @property
    def zone(self) -> ZoneInfo:
        """The club's local time zone, for dates and times shown to fans."""
        return ZoneInfo(self.time_zone)

    def name(self, language: str) -> str:
        """The club's full name in `language` ("zh" or "en")."""
        return self.name_zh if language == "zh" else self.name_en

    def short_name(self, language: str) -> str:
        """The club's short name in `language` ("zh" or "en")."""
        return self.short_name_zh if language == "zh" else self.short_name_en


_known: dict[str, Club] = {}  # by database URL


def _database(source: Session | Connection) -> str | None:
    """The URL naming the database of `source`; None for one that lives in memory only."""
    bind = source.get_bind() if isinstance(source, Session) else source
    engine = bind if isinstance(bind, Engine) else bind.engine
    url = engine.url
    if url.database in (None, "", ":memory:"):  # SQLite in memory: a database per engine
        return None
    return url.render_as_string(hide_password=True)


def current_club(source: Session | Connection) -> Club:
    """The club of the database `source` works on (read once per process and database).

    Raises `ClubNotLoaded` when the club's data folder was never loaded into it.
    """
    key = _database(source)
    club = _known.get(key) if key is not None else None
    if club is None:
        club = _read(source)
        if key is not None:
            _known[key] = club
    return club


def forget_club(source: Session | Connection) -> None:
    """Drop this process's copy of the club record (after the loader rewrote it)."""
    key = _database(source)
    if key is not None:
        _known.pop(key, None)


def _read(source: Session | Connection) -> Club:
    rows = source.execute(
        select(
            ClubRecord.id,
            ClubRecord.name_en,
            ClubRecord.name_zh,
            ClubRecord.short_name_en,
            ClubRecord.short_name_zh,
            ClubRecord.order_prefix,
            ClubRecord.home_team_id,
            ClubRecord.venue_id,
            Venue.timezone,
        ).join(Venue, Venue.id == ClubRecord.venue_id)
    ).all()
    if not rows:
        raise ClubNotLoaded("no club in this database: load its data folder (`desk prepare`)")
    if len(rows) > 1:
        raise DemoDataError(f"the database holds {len(rows)} clubs; a desk serves one")
    return Club(*rows[0])


def club_names(source: Session | Connection) -> dict[str, str]:
    """The club's full name by language; empty when no club is loaded yet (a gateway
    started on an empty database names no club until its data folder is loaded)."""
    try:
        club = current_club(source)
    except ClubNotLoaded:
        return {}
    return {"en": club.name_en, "zh": club.name_zh}
