"""The engine's statement helpers: rows straight from the driver, array literals."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.db import make_engine


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
