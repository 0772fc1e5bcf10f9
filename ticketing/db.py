"""The engine's statement helpers: dialect-specific INSERTs, statements built once per
dialect, and the PostgreSQL fast path that runs prepared statements on the driver.

Sessions, engines and the locking discipline live in `core.db`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

ABORT = "MD001"
"""The SQLSTATE `ticketing_abort(reason)` raises (migration 0004, PostgreSQL).

A single statement that must write all or nothing (in autocommit) calls it in its
final SELECT when a step found what it needed gone: the whole statement, with every
row its data-modifying CTEs wrote, is undone, and the reason reaches the caller.
"""


def aborted(exc: BaseException) -> str | None:
    """The reason a statement gave to `ticketing_abort`, or None for any other error."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) != ABORT:
        return None
    return str(getattr(getattr(orig, "diag", None), "message_primary", "") or "")


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT that supports `on_conflict_do_nothing/update` on the session's dialect."""
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE or DELETE (the driver's count)."""
    return int(getattr(result, "rowcount", -1))


_prepared: dict[tuple[str, str], Any] = {}


def prepared(session: Session | Connection, name: str, build: Callable[[str], Any]) -> Any:
    """A statement built once per dialect (hot paths skip rebuilding SQL expressions).

    `build(dialect_name)` returns a statement with bind parameters; execute it with
    `session.connection().execute(statement, parameters)`.
    """
    bind = session if isinstance(session, Connection) else session.get_bind()
    dialect = bind.dialect.name
    key = (name, dialect)
    statement = _prepared.get(key)
    if statement is None:
        statement = _prepared[key] = build(dialect)
    return statement


def insert_for(dialect: str, table: Any) -> Any:
    """An INSERT with `on_conflict_*` support for `dialect`."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def table_of(model: Any) -> Table:
    """The Core table of a mapped class (for statements that skip the ORM layer)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


@dataclass(frozen=True)
class _DriverStatement:
    sql: str
    defaults: dict[str, Any]
    binds: dict[str, Callable[[Any], Any]]
    results: list[Callable[[Any], Any] | None] | None


_driver_statements: dict[tuple[int, str], _DriverStatement] = {}


def _driver_statement(statement: Any, dialect: Dialect) -> _DriverStatement:
    key = (id(statement), dialect.name)
    found = _driver_statements.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        binds = {}
        for name, bind in compiled.binds.items():
            process = bind.type._cached_bind_processor(dialect)
            if process is not None:
                binds[name] = process
        results = None
        columns = getattr(statement, "selected_columns", None)
        if columns is not None:
            results = [column.type._cached_result_processor(dialect, None) for column in columns]
        found = _DriverStatement(str(compiled), dict(compiled.params), binds, results)
        # Statements are built once per process (`prepared`), so id() stays theirs.
        _driver_statements[key] = found
    return found


def _returns_rows(cursor: Any) -> bool:
    # psycopg's result status: cheaper than `cursor.description`, which builds a
    # column object per column on every call.
    result = getattr(cursor, "pgresult", None)
    if result is None:
        return cursor.description is not None
    return bool(result.status == _TUPLES_OK)


_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK


def driver_rows(
    session: Session | Connection, statement: Any, parameters: dict[str, Any]
) -> list[Any]:
    """Run a prebuilt statement straight on the driver, in the session's transaction
    (or on a connection, e.g. `own_transaction`'s).

    The hot paths' statements are built once (`prepared`); executing them through
    SQLAlchemy still costs Python work on every call (cache lookups, execution context,
    result set-up). Here the statement is compiled once, its parameters go through
    the same type processing (UTC timestamps, JSON) and the rows come back as tuples
    with the same result processing. Cursor events still fire, so statement counters
    and tracing see these statements. Only for SELECTs and textual statements built by
    `prepared` (a Core INSERT here would skip its columns' Python-side defaults).
    """
    connection = session if isinstance(session, Connection) else session.connection()
    dialect = connection.dialect
    if dialect.paramstyle != "pyformat":  # SQLite's positional style: the ordinary way
        result = connection.execute(statement, parameters)
        return list(result.tuples()) if result.returns_rows else []
    compiled = _driver_statement(statement, dialect)
    params = {**compiled.defaults, **parameters}
    try:
        for name, process in compiled.binds.items():
            if name in params:
                params[name] = process(params[name])
    except Exception as exc:  # as SQLAlchemy reports a value its type refuses
        raise StatementError(str(exc), compiled.sql, params, exc) from exc
    fairy = connection.connection
    cursor = fairy.cursor()
    try:
        connection.dispatch.before_cursor_execute(
            connection, cursor, compiled.sql, params, None, False
        )
        cursor.execute(compiled.sql, params)
        rows = list(cursor.fetchall()) if _returns_rows(cursor) else []
        connection.dispatch.after_cursor_execute(
            connection, cursor, compiled.sql, params, None, False
        )
    except dialect.loaded_dbapi.Error as exc:
        # The same exceptions as SQLAlchemy's own execute (IntegrityError, DBAPIError with
        # the driver's sqlstate for `retrying`), and a dead connection is not pooled again.
        if dialect.is_disconnect(exc, fairy, cursor):
            connection.invalidate(exc)
        raise DBAPIError.instance(
            compiled.sql, params, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
    finally:
        cursor.close()
    processors = compiled.results
    if processors and any(processors):
        rows = [
            tuple(
                value if p is None else p(value) for p, value in zip(processors, row, strict=True)
            )
            for row in rows
        ]
    return rows


def array_literal(values: Iterable[int | str]) -> str:
    """A PostgreSQL array literal, e.g. `{1,2}` or `{"a","b"}`, to bind as text and CAST.

    Binding a Python list makes psycopg inspect every element to choose an array
    type; a literal the server parses costs the client next to nothing.
    """
    parts = []
    for value in values:
        if isinstance(value, int):
            parts.append(str(value))
        else:
            parts.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"
