"""Throw-away databases for tests: SQLite files and fresh PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from alembic import command
from alembic.config import Config

from bot.database import migrate
from core.db import engine_for
from core.settings import ROOT

# The PostgreSQL server running on every developer and CI machine (trust auth).
PG_ADMIN_URL = os.environ.get(
    "MATCHDAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def fresh_postgres_database(prefix: str = "matchday_test") -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards.

    A PostgreSQL server that cannot be reached is an error, never a skip: CI must
    fail loudly when the database tests cannot run.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} (set MATCHDAY_TEST_PG_URL): {exc}"
        ) from exc
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    try:
        yield url
    finally:
        _drop(url)


def _drop(url: str) -> None:
    """Close this process's connections to `url`'s database, then drop it (and any other's)."""
    engine_for(url).dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


@contextmanager
def postgres_copies(prefix: str = "matchday_copy") -> Iterator[Callable[[], str]]:
    """A migrated PostgreSQL template and a maker of fresh copies of it (`CREATE DATABASE
    ... TEMPLATE`: a fraction of a second each, against seconds for a migration); the
    template and every copy are dropped afterwards."""
    made: list[str] = []
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    with fresh_postgres_database(f"{prefix}_template") as template:
        migrated(template)
        engine_for(template).dispose()  # a template must have no other connections
        name = template.rpartition("/")[2]

        def copy() -> str:
            copy_name = f"{prefix}_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{copy_name}" TEMPLATE "{name}"')
            made.append(f"{base}/{copy_name}")
            return made[-1]

        try:
            yield copy
        finally:
            for url in made:
                _drop(url)


def migrated(url: str) -> str:
    """Apply the migrations to `url` and return it."""
    migrate(url)
    return url


def downgrade(url: str, revision: str) -> None:
    """Take the schema of `url` back to `revision` (the migrations' downgrades)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    with engine_for(url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
