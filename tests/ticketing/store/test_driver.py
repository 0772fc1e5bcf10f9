"""The PostgreSQL store's driver path: rows straight from psycopg, array literals, and the
SQLAlchemy internals it relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy
from sqlalchemy import bindparam, event, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from core.db import UTCDateTime, make_engine, make_sessionmaker, write_session
from ticketing.models import Customer
from ticketing.store import driver, store_for
from ticketing.store.driver import array_literal, check_internals


def test_rows_behave_like_sqlalchemy_execute(database_url: str) -> None:
    engine = make_engine(database_url)
    db = make_sessionmaker(engine)
    store = store_for(db)
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
            assert store.rows(session, insert, {"id": 7, "at": local}) == []
            rows = store.rows(session, query, {"b_id": 7})
        assert rows == [(7, local.astimezone(UTC), False)]
        assert rows[0][1].tzinfo == UTC  # the same result processing as SQLAlchemy's
        # Cursor events fire, so statement counters still count these statements.
        assert [s.split()[0] for s in seen if not s.startswith("BEGIN")] == ["INSERT", "SELECT"]
        with pytest.raises(IntegrityError), write_session(db) as session:
            store.rows(session, insert, {"id": 7, "at": local})
        with pytest.raises(StatementError), write_session(db) as session:
            store.rows(session, insert, {"id": 8, "at": datetime(2026, 5, 1)})  # naive
        with db() as session:
            assert session.scalars(select(Customer.id)).all() == [7]
    finally:
        engine.dispose()


def test_array_literals_reach_postgresql_intact(pg_url: str) -> None:
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


def test_the_internals_it_uses_are_there_and_behave() -> None:
    """Fails on an SQLAlchemy release that renames or changes what `driver_rows` uses."""
    check_internals()  # the names exist, in the release series the module was written for
    dialect = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none").dialect
    process = UTCDateTime()._cached_bind_processor(dialect)  # type: ignore[attr-defined]
    local = datetime(2026, 5, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    assert process is not None and process(local) == local.astimezone(UTC)
    result = UTCDateTime()._cached_result_processor(dialect, None)  # type: ignore[attr-defined]
    assert result is not None and result(datetime(2026, 5, 1, 12, 0)).tzinfo == UTC
    assert hasattr(sqlalchemy.engine.Connection, "dispatch")


def test_a_different_release_series_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlalchemy, "__version__", "3.0.0")
    with pytest.raises(RuntimeError, match=r"written for SQLAlchemy 2\.1\.x and this is 3\.0\.0"):
        check_internals()
    monkeypatch.undo()
    monkeypatch.delattr(sqlalchemy.types.TypeEngine, "_cached_bind_processor")
    with pytest.raises(RuntimeError, match=r"missing: TypeEngine\._cached_bind_processor"):
        driver.check_internals()
