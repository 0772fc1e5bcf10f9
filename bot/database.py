"""The gateway's database handle: one engine per process, made from DATABASE_URL."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session, sessionmaker

from core.db import engine_for, sessions_for
from core.settings import ROOT, get_settings

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


def get_sessionmaker() -> sessionmaker[Session]:
    """Session factory bound to the configured database."""
    return sessions_for(get_settings().database_url)


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Bring the database schema to the newest migration (or to `revision`)."""
    url = url or get_settings().database_url
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    with engine_for(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
