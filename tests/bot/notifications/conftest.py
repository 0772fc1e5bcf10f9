"""The engine's small test club, for the outbox tests (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ticketing.conftest import Club, load_club


@pytest.fixture(autouse=True)
def _keys_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing keys live in a temporary folder, never in the project's var/keys."""
    monkeypatch.setenv("MATCHDAY_KEYS_DIR", str(tmp_path_factory.getbasetemp() / "keys"))


@pytest.fixture
def club(database_url: str, tmp_path: Path) -> Club:
    """The test club on SQLite and on PostgreSQL."""
    return load_club(database_url, tmp_path / "club")
