"""The demo club loads as docs/demo-club.md describes it; bad data names file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app as desk
from core.db import engine_for, make_sessionmaker, write_session
from tests.ticketing.conftest import DEMO
from ticketing.demo import load_demo_data
from ticketing.errors import DemoDataError, PolicyError
from ticketing.models import Fixture, FixturePrice, Seat, Section, Team
from ticketing.policies import load_policies


def test_demo_stadium_and_season(database_url: str) -> None:
    db = make_sessionmaker(engine_for(database_url))
    with write_session(db) as session:
        assert load_demo_data(session) is True
        assert load_demo_data(session) is False  # only into an empty database
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Seat)) == 21 * 1000 + 2 * 60
        sections = {s.code: s for s in session.scalars(select(Section)).unique()}
        assert len(sections) == 23
        assert sections["W-ACC"].accessible and sections["S1"].zone == "family"
        assert sections["S4"].zone == "away" and sections["W3"].category == "premium"
        assert session.scalar(select(func.count()).where(Seat.kind == "wheelchair")) == 60
        fixtures = session.scalars(select(Fixture)).unique().all()
        assert len(fixtures) >= 10 and len({f.demand for f in fixtures}) == 4
        assert session.get(Team, "harbour-city").name_zh == "港城"  # type: ignore[union-attr]
        derby = next(f for f in fixtures if f.away_team_id == "harbour-city")
        price = session.get(FixturePrice, (derby.id, "premium"))
        assert price is not None and price.amount == 102000  # ¥680 x 1.5


def test_bad_data_files_name_the_file_and_field(tmp_path: Path) -> None:
    for name in ("club.yml", "stadium.yml", "pricing.yml", "policies.yml"):
        shutil.copy(DEMO / name, tmp_path / name)
    bad = tmp_path / "policies.yml"
    bad.write_text(bad.read_text().replace("per_order: 6", "per_order: 0"))
    with pytest.raises(PolicyError, match=r"policies.yml: limits.per_order"):
        load_policies(bad)
    stadium = tmp_path / "stadium.yml"
    stadium.write_text(stadium.read_text().replace("zone: away", "zone: visitors"))
    engine = engine_for(f"sqlite:///{tmp_path / 'x.db'}")
    from core.db import Base

    Base.metadata.create_all(engine)
    with (
        make_sessionmaker(engine)() as session,
        pytest.raises(DemoDataError, match=r"stadium\.yml: stands"),
    ):
        load_demo_data(session, tmp_path / "club.yml")


def test_cli_commands(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(desk, ["tickets", "load-demo"]).exit_code == 0
        listed = runner.invoke(desk, ["tickets", "fixtures"])
        assert "Harbour City" in listed.output
        assert "premium" in runner.invoke(desk, ["tickets", "report", "1"]).output
        assert runner.invoke(desk, ["tickets", "validate", "NOT-A-CODE"]).exit_code == 1
        assert runner.invoke(desk, ["tickets", "rotate-keys"]).exit_code == 0
        assert runner.invoke(desk, ["tickets", "reconcile"]).exit_code == 0
        moved = runner.invoke(desk, ["tickets", "postpone", "1", "--to", "2030-01-05T19:35+08:00"])
        assert "postponed" in moved.output
        cancelled = runner.invoke(desk, ["tickets", "cancel", "2", "--yes"])
        assert "cancelled" in cancelled.output
    finally:
        get_settings.cache_clear()
