"""`desk api-keys`: the key is printed once, listed never, stored only as its hash."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from bot.api.keys import key_hash
from bot.cli import app
from bot.cli.api_keys import expiry_of
from core.db import engine_for
from core.settings import get_settings

runner = CliRunner()


@pytest.fixture
def db_url(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield sqlite_url


def desk(*args: str) -> Result:
    return runner.invoke(app, ["api-keys", *args])


def test_create_prints_the_key_once_and_stores_only_its_hash(db_url: str) -> None:
    made = desk("create", "turnstile-north", "--scope", "gate", "--expires", "90d")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert key.startswith("mdk_") and "\n" not in key  # stdout is the key alone
    assert "not shown again" in made.stderr and key not in made.stderr

    listed = desk("list")
    assert listed.exit_code == 0
    assert "turnstile-north" in listed.output and "gate" in listed.output
    assert key[:12] in listed.output and key not in listed.output

    with engine_for(db_url).connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_keys")).all()
    assert len(rows) == 1
    stored = {str(value) for value in rows[0]}
    assert key_hash(key) in stored and key not in stored


def test_revoke_marks_the_key_and_an_unknown_name_fails(db_url: str) -> None:
    assert desk("create", "bi", "--scope", "read", "--expires", "2099-06-30").exit_code == 0
    revoked = desk("revoke", "bi")
    assert revoked.exit_code == 0 and "revoked 'bi'" in revoked.output
    assert "already revoked" in desk("revoke", "bi").output
    row = next(line for line in desk("list").output.splitlines() if line.startswith("bi "))
    assert "2099-06-30 00:00" in row
    assert row.split()[-3] != "-"  # the revoked column holds a date
    unknown = desk("revoke", "nobody")
    assert unknown.exit_code == 1 and "no key named 'nobody'" in unknown.output


def test_bad_input_is_refused_before_anything_is_stored(db_url: str) -> None:
    assert desk("create", "x", "--scope", "admin").exit_code == 2
    assert desk("create", "x", "--scope", "read", "--expires", "soon").exit_code == 2
    past = desk("create", "x", "--scope", "read", "--expires", "2001-01-01")
    assert past.exit_code == 1 and "future" in past.output
    budget = desk("create", "x", "--scope", "gate", "--hold-budget", "5")
    assert budget.exit_code == 1 and "only a full key" in budget.output
    assert desk("create", "shop", "--scope", "full", "--hold-budget", "50").exit_code == 0
    twice = desk("create", "shop", "--scope", "full")
    assert twice.exit_code == 1 and "exists" in twice.output
    assert [line.split()[0] for line in desk("list").output.splitlines()[1:]] == ["shop"]


def test_expiry_is_days_from_now_or_midnight_utc_of_a_date() -> None:
    now = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
    assert expiry_of("90d", now) == now + timedelta(days=90)
    assert expiry_of("2027-06-30", now) == datetime(2027, 6, 30, tzinfo=UTC)
