"""The gateway's database handle: one engine per process, made from DATABASE_URL."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.files import create_private
from bot.settings import ROOT, get_settings
from ticketing.db import is_sqlite, make_engine, make_sessionmaker, sqlalchemy_url

# The gateway runs blocking routes in AnyIO's threadpool (40 threads by default), and a
# request holds at most one connection at a time: with as many connections as threads no
# request ever waits for the pool (under load it did, up to pool_timeout, then failed).
# PostgreSQL only sees as many busy backends as requests really in flight.
GATEWAY_THREADS = 40
# The hot ticketing routes (holds, orders, gate scans) run the engine in at most this
# many threads: on 2 cores more runnable threads only fight over the GIL with the event
# loop (every request hands over between them twice), and throughput fell as clients grew.
ENGINE_THREADS = 8

T = TypeVar("T")
_limiter: anyio.CapacityLimiter | None = None


async def run_engine(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking engine call in the gateway's engine threads (at most ENGINE_THREADS)."""
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(ENGINE_THREADS)
    return await anyio.to_thread.run_sync(partial(function, *args, **kwargs), limiter=_limiter)


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """The process-wide engine for `url` (SQLite files are created private, mode 0600)."""
    if is_sqlite(url):
        database = sqlalchemy_url(url).split("///", 1)[-1]
        if database and database != ":memory:":
            create_private(Path(database))
        return make_engine(url)
    return make_engine(url, pool_size=GATEWAY_THREADS // 2, max_overflow=GATEWAY_THREADS // 2)


@lru_cache(maxsize=4)
def _sessions(url: str) -> sessionmaker[Session]:
    return make_sessionmaker(engine_for(url))


def get_sessionmaker() -> sessionmaker[Session]:
    """Session factory bound to the configured database."""
    return _sessions(get_settings().database_url)


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Bring the database schema to the newest migration (or to `revision`)."""
    url = url or get_settings().database_url
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    with engine_for(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
