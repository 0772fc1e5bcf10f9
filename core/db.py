"""Database engines, sessions, the one declarative base, and the one locking discipline
every write follows (the engine's tables and the gateway's share them).

Writes go through `write_session()`: one transaction per state change. On SQLite
a process-wide lock serializes writers and the transaction starts with
`BEGIN IMMEDIATE` (SQLAlchemy's documented pysqlite recipe), so concurrent
buyers queue instead of failing with "database is locked". On PostgreSQL writers
run concurrently under READ COMMITTED and rely on atomic conditional statements
(unique claims, `UPDATE ... WHERE status = ...` with row counts); deadlocks and
serialization failures are retried by `retrying()`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.files import create_private

T = TypeVar("T")

_IMMEDIATE = "matchday_immediate"
_write_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def sqlalchemy_url(url: str) -> str:
    """Map a plain `postgresql://` or `sqlite:///` URL to the driver the project uses."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    """True when the URL names an SQLite database."""
    return make_url(sqlalchemy_url(url)).get_backend_name() == "sqlite"


DatabaseKind = Literal["sqlite", "postgresql"]


def database_kind(bind: Engine | Connection | Session | sessionmaker[Session]) -> DatabaseKind:
    """Which database `bind` talks to: the one place that asks.

    Core's plumbing uses it for SQLite's write lock and PostgreSQL's autocommit; the
    engine chooses its sale store by it once per engine (`ticketing.store.store_for`).
    """
    if isinstance(bind, sessionmaker):
        bind = engine_of(bind)
    elif isinstance(bind, Session):
        bind = bind.get_bind()
    name = bind.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {name!r}: use SQLite or PostgreSQL")
    return "sqlite" if name == "sqlite" else "postgresql"


def conflict_insert(kind: DatabaseKind, table: Any) -> Any:
    """An INSERT into `table` that takes `on_conflict_do_nothing/update` on `kind`."""
    return postgresql.insert(table) if kind == "postgresql" else sqlite.insert(table)


def table_of(model: Any) -> Table:
    """The Core table of a mapped class (for statements that skip the ORM layer)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE or DELETE (the driver's count)."""
    return int(getattr(result, "rowcount", -1))


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and real BEGINs."""
    full = sqlalchemy_url(url)
    if is_sqlite(full):
        engine = create_engine(
            full, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling is off: SQLAlchemy emits BEGIN itself.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            immediate = connection.get_execution_options().get(_IMMEDIATE, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(full, **kwargs)
    _generic_plans(engine)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, IDLE_PING_AFTER_S)
    return engine


IDLE_PING_AFTER_S = 10.0


def _generic_plans(engine: Engine) -> None:
    """PostgreSQL: plan each prepared statement once per connection, not on every run.

    psycopg prepares a statement on the server once a connection has run it 5 times:
    only the engine's repeated statements (the match-day hot paths) are prepared.
    PostgreSQL then still plans them anew for each set of values while it judges a
    custom plan cheaper, which it does for the hold's and the payment's multi-CTE
    statements, and planning them costs more than the generic plan's slightly slower
    execution (figures in docs/ticketing.md). Every hot statement looks rows up by key,
    so one plan serves all values. Set with SET on connect, not a startup option, so
    that PgBouncer, which refuses unknown startup options, still works.
    """

    @event.listens_for(engine, "connect")
    def _plan_once(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            dbapi_connection.execute("SET plan_cache_mode TO force_generic_plan")
        finally:
            dbapi_connection.autocommit = autocommit


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Test a pooled connection on checkout only if it sat unused for `idle_s` seconds.

    SQLAlchemy's `pool_pre_ping` costs a round trip on *every* checkout (4 per
    purchase, 1 per gate scan). A connection in steady use has just proved itself;
    one that sat idle may have been cut by a database restart or a firewall, so it is
    tested first and, if dead, replaced before the caller sees it (raising
    `DisconnectionError` in a checkout listener makes the pool retry with a new one).
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["matchday_used_at"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["matchday_used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("matchday_used_at", 0.0) < idle_s:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:
            raise DisconnectionError("connection lost while idle") from exc
        record.info["matchday_used_at"] = time.monotonic()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    """The engine a session factory is bound to."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("the session factory must be bound to an Engine")
    return bind


def _write_lock(engine: Engine) -> threading.Lock | None:
    if database_kind(engine) != "sqlite":
        return None
    with _locks_guard:
        lock = _write_locks.get(engine)
        if lock is None:
            lock = _write_locks[engine] = threading.Lock()
        return lock


@contextmanager
def write_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error.

    On SQLite the transaction holds the process's write lock and starts with
    `BEGIN IMMEDIATE`; on PostgreSQL it is a plain READ COMMITTED transaction.
    """
    lock = _write_lock(engine_of(sessions))
    with lock if lock is not None else nullcontext(), sessions() as session:
        if lock is not None:  # SQLite: the transaction starts with BEGIN IMMEDIATE
            session.connection(execution_options={_IMMEDIATE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def own_transaction(sessions: sessionmaker[Session]) -> Iterator[Connection]:
    """A connection on which every statement is a transaction of its own.

    For writes that are one statement (a settlement, a charge record): on PostgreSQL
    the connection is in autocommit mode, so the statement is one round trip instead
    of three (BEGIN, the statement, COMMIT) and still all or nothing. A caller may
    rely only on each statement being atomic, never on two being one transaction. On
    SQLite the statements share one write transaction (`write_session`), which is
    stronger.
    """
    engine = engine_of(sessions)
    if database_kind(engine) == "sqlite":
        with write_session(sessions) as session:
            yield session.connection()
        return
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        raw.autocommit = True  # psycopg: client-side, no round trip
        try:
            yield connection
        finally:
            if not connection.invalidated:
                raw.autocommit = False


@contextmanager
def autocommit_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """`own_transaction` as a session, for code written against sessions.

    On PostgreSQL every statement commits on its own (the connection is in autocommit
    mode: no BEGIN and COMMIT round trips), so the caller may write only with
    statements that are all or nothing by themselves (see `ABORT`). On SQLite it is
    a `write_session`, one transaction for all of them.
    """
    if database_kind(sessions) == "sqlite":
        with write_session(sessions) as session:
            yield session
        return
    with sessions() as session:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


@contextmanager
def read_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reading (a consistent snapshot on SQLite's WAL)."""
    with sessions() as session:
        yield session


_RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure


def retrying(operation: Callable[[], T], attempts: int = 5) -> T:
    """Run `operation`, retrying it when PostgreSQL reports a deadlock or serialization failure."""
    for attempt in range(attempts):
        try:
            return operation()
        except DBAPIError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if code not in _RETRYABLE or attempt == attempts - 1:
                raise
            time.sleep(0.002 * (attempt + 1))
    raise AssertionError("unreachable")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite keeps no time zone, so naive values read back are taken as UTC; naive
    values written are refused, which catches local-time bugs early.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware value")
        # SQLite's DATETIME stores the wall clock and drops the zone: UTC it is.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The one declarative base: the engine's tables and the gateway's share its metadata
    (one schema, one set of migrations, foreign keys across both)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


# The gateway runs blocking routes in AnyIO's threadpool (40 threads by default), and a
# request holds at most one connection at a time: with as many connections as threads no
# request ever waits for the pool (under load it did, up to pool_timeout, then failed).
# PostgreSQL only sees as many busy backends as requests really in flight.
GATEWAY_THREADS = 40


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
def sessions_for(url: str) -> sessionmaker[Session]:
    """The process-wide session factory for `url`."""
    return make_sessionmaker(engine_for(url))
