"""Connection pooling: idle connections are tested on checkout, busy ones are not; every
PostgreSQL connection plans its prepared statements once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

import core.db
from core.db import make_engine
from tests.support.databases import PG_ADMIN_URL


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@contextmanager
def one_connection_pool(url: str, idle_ping_after_s: float) -> Iterator[Engine]:
    """An engine with a single pooled connection, tested on checkout after `idle_ping_after_s`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core.db, "IDLE_PING_AFTER_S", idle_ping_after_s)
        engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_connection_cut_while_idle_is_replaced_before_use(pg_url: str) -> None:
    with one_connection_pool(pg_url, idle_ping_after_s=0.0) as engine:
        first = _backend_pid(engine)
        _terminate(first)  # a database restart or a firewall cutting the idle connection
        second = _backend_pid(engine)
        assert second != first


def test_a_connection_in_steady_use_is_not_pinged(pg_url: str) -> None:
    with one_connection_pool(pg_url, idle_ping_after_s=3600.0) as engine:
        first = _backend_pid(engine)
        for _ in range(3):
            assert _backend_pid(engine) == first
        # Not tested on checkout (no round trip): a connection cut meanwhile fails its
        # next use, which is why idle ones are tested. The pool then replaces it.
        _terminate(first)
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != first


def test_prepared_statements_keep_one_plan_per_connection(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        first = _backend_pid(engine)
        with engine.connect() as conn:
            mode = conn.execute(text("SHOW plan_cache_mode")).scalar_one()
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
        # A connection made to replace a lost one gets the setting too.
        _terminate(first)
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        with engine.connect() as conn:
            again = conn.execute(text("SHOW plan_cache_mode")).scalar_one()
    finally:
        engine.dispose()
    assert (mode, again) == ("force_generic_plan", "force_generic_plan")
