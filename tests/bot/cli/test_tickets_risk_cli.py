"""`desk tickets risk`: refused requests per minute and reason, then the period's totals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from bot.cli import app
from core.clock import utcnow
from core.db import engine_for
from core.settings import get_settings
from ticketing.risk import record_refusal

runner = CliRunner()


@pytest.fixture
def db_url(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def test_refusals_per_minute_and_totals_of_the_period(db_url: str) -> None:
    db = sessionmaker(engine_for(db_url))
    now = utcnow()
    record_refusal(db, 0, "widget_sessions", now - timedelta(minutes=90))  # outside
    record_refusal(db, 3, "address_budget", now - timedelta(minutes=2))
    record_refusal(db, 3, "address_budget", now - timedelta(minutes=2))
    record_refusal(db, 0, "api_key_refused", now)
    result = runner.invoke(app, ["tickets", "risk", "--minutes", "60"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    minute = (now - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
    assert lines[0].startswith(f"{minute}Z") and lines[0].split()[-2:] == ["address_budget", "2"]
    assert lines[1].split()[-2:] == ["api_key_refused", "1"]
    assert lines[2] == "last 60 minutes: address_budget 2, api_key_refused 1"


def test_a_quiet_period_says_so(db_url: str) -> None:
    result = runner.invoke(app, ["tickets", "risk", "--minutes", "5"])
    assert result.exit_code == 0
    assert result.output.strip() == "no refused requests in the last 5 minutes"
    assert runner.invoke(app, ["tickets", "risk", "--minutes", "0"]).exit_code != 0
