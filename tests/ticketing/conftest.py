"""A small club for engine tests: one stand, a few tiny sections, three fixtures."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import engine_for, make_sessionmaker, write_session
from ticketing.demo import load_demo_data
from ticketing.keys import KeyRing, keyring_at
from ticketing.models import Fixture, Section
from ticketing.payments import SandboxProvider

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
# A second, different club: its own names, order prefix, ground, time zone and rules.
HARBOURSIDE = Path(__file__).resolve().parents[1] / "data" / "clubs" / "harbourside"

STADIUM = """
venue: test-ground
regular: {rows: 2, seats_per_row: 10}
stands:
  - code: M
    name_en: Main Stand
    name_zh: 主看台
    sections:
      - {code: A, category: cat1, rank: 1}
      - {code: B, category: cat3, rank: 5, rows: 5}
      - {code: ACC, category: accessible, zone: accessible, rank: 3, wheelchair_spaces: 3}
      - {code: AW, category: away, zone: away, rank: 9, rows: 1}
"""


@pytest.fixture(autouse=True)
def _keys_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing keys live in a temporary folder, never in the project's var/keys."""
    monkeypatch.setenv("MATCHDAY_KEYS_DIR", str(tmp_path_factory.getbasetemp() / "keys"))


@dataclass
class Club:
    """A loaded test club and handles on it."""

    url: str
    db: sessionmaker[Session]
    fixtures: list[int]  # [in 5 days, in 10 days, in 30 days (not on sale yet)]
    sections: dict[str, int]
    keys: KeyRing
    provider: SandboxProvider
    now: datetime

    @property
    def fixture(self) -> int:
        return self.fixtures[0]


def write_club(folder: Path, now: datetime) -> Path:
    """Write the test club's four files into `folder`; returns the club file."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEMO / "pricing.yml", folder / "pricing.yml")
    (folder / "stadium.yml").write_text(STADIUM, encoding="utf-8")
    kickoffs = [now + timedelta(days=d) for d in (5, 10, 30)]
    fixtures = "\n".join(
        f"  - {{home: home, away: away, competition: League, kickoff: '{k.isoformat()}',"
        f" demand: {demand}}}"
        for k, demand in zip(kickoffs, ("normal", "high", "low"), strict=True)
    )
    (folder / "club.yml").write_text(
        f"""
club:
  id: test
  name_en: Test Athletic
  name_zh: 测试竞技
  order_prefix: RA
  home_team: home
venue: {{id: test-ground, name_en: Test Ground, name_zh: 测试场, timezone: Asia/Shanghai}}
teams:
  - {{id: home, name_en: Home Town, name_zh: 主队}}
  - {{id: away, name_en: Away City, name_zh: 客队}}
fixtures:
{fixtures}
""",
        encoding="utf-8",
    )
    return folder / "club.yml"


def load_club(url: str, folder: Path) -> Club:
    """Load the test club into the (migrated, empty) database at `url`."""
    now = utcnow()
    db = make_sessionmaker(engine_for(url))
    with write_session(db) as session:
        assert load_demo_data(session, write_club(folder, now))
    with db() as session:
        fixtures = list(session.scalars(select(Fixture.id).order_by(Fixture.kickoff)))
        sections = {code: sid for code, sid in session.execute(select(Section.code, Section.id))}
    return Club(
        url=url,
        db=db,
        fixtures=fixtures,
        sections=sections,
        keys=keyring_at(folder / "keys"),
        provider=SandboxProvider(db),
        now=now,
    )


@pytest.fixture
def club(database_url: str, tmp_path: Path) -> Iterator[Club]:
    """The test club on SQLite and on PostgreSQL."""
    yield load_club(database_url, tmp_path / "club")


@pytest.fixture
def lite(sqlite_url: str, tmp_path: Path) -> Club:
    """The test club on SQLite only (for tests about logic, not the database)."""
    return load_club(sqlite_url, tmp_path / "club")


def load_second_club(url: str, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    """The Harbourside club loaded into the (migrated, empty) database at `url` as a desk
    does it: its folder is the configured data folder, loaded by the normal loader."""
    from core.settings import get_settings

    monkeypatch.setenv("MATCHDAY_DATA_DIR", str(HARBOURSIDE))
    get_settings.cache_clear()
    db = make_sessionmaker(engine_for(url))
    with write_session(db) as session:
        assert load_demo_data(session)
    return db


@pytest.fixture
def second_club(database_url: str) -> Iterator[sessionmaker[Session]]:
    """The Harbourside club on SQLite and PostgreSQL, its data folder configured meanwhile."""
    from core.settings import get_settings

    with pytest.MonkeyPatch.context() as patch:
        yield load_second_club(database_url, patch)
    get_settings.cache_clear()
