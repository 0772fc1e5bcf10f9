"""Fixtures shared by the whole suite (databases, settings), and the markers every test
gets from where it lives and what it uses."""

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
E2E_DIR = ("tests", "e2e")
# Fixtures that need a server; a fixture parametrized over databases needs PostgreSQL
# for its "postgres" parameter only (`database_url`).
POSTGRES_FIXTURES = frozenset({"pg_url"})
REDIS_FIXTURES = frozenset({"redis_url"})

pytest_plugins = ["pytester"]


def markers_of(item: pytest.Item, root: Path) -> set[str]:
    """What `item` needs: `e2e` under tests/e2e/, `postgres` and `redis` by its fixtures."""
    found: set[str] = set()
    try:
        parts = item.path.relative_to(root).parts
    except ValueError:
        parts = ()
    if parts[: len(E2E_DIR)] == E2E_DIR:
        found.add("e2e")
    fixtures = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    values = callspec.params.values() if callspec is not None else ()
    params = {v for v in values if isinstance(v, str)}
    if fixtures & POSTGRES_FIXTURES or "postgres" in params:
        found.add("postgres")
    if fixtures & REDIS_FIXTURES or "redis" in params:
        found.add("redis")
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test by where it lives and what it uses, so `-m "not e2e"` and the like
    select by need without each test having to say so."""
    for item in items:
        for name in sorted(markers_of(item, config.rootpath)):
            item.add_marker(name)


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
        "MATCHDAY_RASA_WORKERS": 1,  # one (fake) Rasa server on MATCHDAY_RASA_PORT
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
