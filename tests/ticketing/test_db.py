"""Connection pooling: idle connections are tested on checkout, busy ones are not; every
PostgreSQL connection plans its prepared statements once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

import ticketing.db
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
        patch.setattr(ticketing.db, "IDLE_PING_AFTER_S", idle_ping_after_s)
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


def test_driver_rows_behave_like_sqlalchemy_execute(database_url: str) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import bindparam, event, select
    from sqlalchemy.exc import IntegrityError, StatementError

    from core.db import UTCDateTime, make_sessionmaker, write_session
    from ticketing.db import driver_rows
    from ticketing.models import Customer

    engine = make_engine(database_url)
    db = make_sessionmaker(engine)
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    local = datetime(2026, 5, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    insert = text(
        "INSERT INTO customers (id, email, is_member, created_at) VALUES (:id, NULL, false, :at)"
    ).bindparams(bindparam("at", type_=UTCDateTime()))
    query = select(Customer.id, Customer.created_at, Customer.is_member).where(
        Customer.id == bindparam("b_id")
    )
    try:
        with write_session(db) as session:
            assert driver_rows(session, insert, {"id": 7, "at": local}) == []
            rows = driver_rows(session, query, {"b_id": 7})
        assert rows == [(7, local.astimezone(UTC), False)]
        assert rows[0][1].tzinfo == UTC  # the same result processing as SQLAlchemy's
        # Cursor events fire, so statement counters still count these statements.
        assert [s.split()[0] for s in seen if not s.startswith("BEGIN")] == ["INSERT", "SELECT"]
        with pytest.raises(IntegrityError), write_session(db) as session:
            driver_rows(session, insert, {"id": 7, "at": local})
        with pytest.raises(StatementError), write_session(db) as session:
            driver_rows(session, insert, {"id": 8, "at": datetime(2026, 5, 1)})  # naive
        with db() as session:
            assert session.scalars(select(Customer.id)).all() == [7]
    finally:
        engine.dispose()


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


def test_array_literals_reach_postgresql_intact(pg_url: str) -> None:
    from ticketing.db import array_literal

    texts = ['a"b', "c\\d", "x,y", "{z}", " spaced ", "NULL", ""]
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            got_texts, got_ints = conn.execute(
                text("SELECT CAST(:t AS text[]), CAST(:i AS bigint[])"),
                {"t": array_literal(texts), "i": array_literal([1, -2, 2**53])},
            ).one()
    finally:
        engine.dispose()
    assert got_texts == texts and got_ints == [1, -2, 2**53]
