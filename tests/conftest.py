"""Fixtures shared by the whole suite: databases and settings."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings, get_settings
from tests.support.databases import fresh_postgres_database, migrated

TEST_API_KEY = "test-key-0123456789"
ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def faq_dir_for_tests() -> Path:
    """This session's copy of the FAQ index that `make test` built (models/faq).

    Gateways under test publish agents' entries into their index; they do so into this
    copy, so the project's own index never picks up test entries.
    """
    folder = Path(tempfile.mkdtemp(prefix="matchday-test-faq-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    source = ROOT / "models" / "faq"
    if source.is_dir():
        shutil.copytree(source, folder / "faq")
    return folder / "faq"


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Each test reads the settings from its own environment (fixtures set variables such
    as MATCHDAY_KEYS_DIR with monkeypatch; the process-wide cache must not outlive them)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated, empty SQLite database in the test's own folder."""
    return migrated(f"sqlite:///{tmp_path / 'desk.db'}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A migrated, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres_database() as url:
        yield migrated(url)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for an in-process gateway under test (no .env is read)."""
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "MATCHDAY_API_KEY": TEST_API_KEY,
        "MATCHDAY_RASA_TOKEN": "test-rasa-token-0123456789abcdef0123",
        "MATCHDAY_ACTIONS_SECRET": "test-actions-secret",
        "MATCHDAY_FAQ_DIR": str(faq_dir_for_tests()),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
