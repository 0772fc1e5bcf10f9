"""Prebuilt statements run straight on psycopg: the one module that uses SQLAlchemy's
internals (the PostgreSQL store's hot path).

Executing a statement through SQLAlchemy costs Python work on every call (cache
lookups, an execution context, result set-up). Here a statement built once is compiled
once; its parameters go through the same type processing (UTC timestamps, JSON) and
its rows come back as tuples with the same result processing. Cursor events still
fire, so statement counters and tracing see these statements.

The private names used are listed in `INTERNALS`; `check_internals()` runs when this
module is imported, so an SQLAlchemy upgrade that renames one fails at start-up with
a message naming it, not with a wrong result on match day. SQLAlchemy is pinned
(requirements/app.lock) and tests/ticketing/store/test_driver.py compares these rows
with SQLAlchemy's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.types import TypeEngine

INTERNALS = (
    (TypeEngine, "_cached_bind_processor"),
    (TypeEngine, "_cached_result_processor"),
    (Connection, "dispatch"),
)
"""The private SQLAlchemy attributes this module relies on (checked at import)."""

TESTED_WITH = "2.1"
"""The SQLAlchemy series these internals were checked against."""


def check_internals() -> None:
    """Fail loudly when SQLAlchemy no longer has what `driver_rows` uses."""
    missing = [f"{owner.__name__}.{name}" for owner, name in INTERNALS if not hasattr(owner, name)]
    if missing or not sqlalchemy.__version__.startswith(TESTED_WITH + "."):
        raise RuntimeError(
            f"ticketing.store.driver was written for SQLAlchemy {TESTED_WITH}.x and this is "
            f"{sqlalchemy.__version__}; missing: {', '.join(missing) or 'none'}. Re-check "
            "driver_rows against the new release (tests/ticketing/store/test_driver.py) "
            "before changing the pin."
        )


check_internals()


@dataclass(frozen=True)
class _Compiled:
    statement: Any  # held, so that its id() is never reused while this entry exists
    sql: str
    defaults: dict[str, Any]
    binds: dict[str, Callable[[Any], Any]]
    results: list[Callable[[Any], Any] | None] | None


_compiled: dict[int, _Compiled] = {}  # by id() of the statement (psycopg's dialect only)


def _compile(statement: Any, dialect: Dialect) -> _Compiled:
    key = id(statement)
    found = _compiled.get(key)
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
        found = _Compiled(statement, str(compiled), dict(compiled.params), binds, results)
        _compiled[key] = found
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
    connection: Connection, statement: Any, parameters: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """Run a statement built once on psycopg, in the connection's transaction: its rows.

    Only for SELECTs and textual statements (a Core INSERT here would skip its columns'
    Python-side defaults).
    """
    dialect = connection.dialect
    compiled = _compile(statement, dialect)
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
