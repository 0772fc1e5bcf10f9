"""The sale store: the statements that sell seats, one implementation per database.

`store_for(bind)` gives the store of an engine, chosen once per engine: the only place
the engine asks which database it runs on. Everything above it (holds, paying, the
risk checks, the gate) is written once.
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from core.db import database_kind, engine_of
from ticketing.store.base import (
    Admission,
    Admitted,
    Claimed,
    HoldUnusable,
    NewHold,
    PaymentStart,
    Reserved,
    SaleChanged,
    SaleStore,
    SeatRef,
    Settled,
    Settlement,
)
from ticketing.store.postgresql import PostgresStore
from ticketing.store.sqlite import SQLiteStore

__all__ = [
    "Admission",
    "Admitted",
    "Claimed",
    "HoldUnusable",
    "NewHold",
    "PaymentStart",
    "PostgresStore",
    "Reserved",
    "SQLiteStore",
    "SaleChanged",
    "SaleStore",
    "SeatRef",
    "Settled",
    "Settlement",
    "store_for",
]

_stores: weakref.WeakKeyDictionary[Engine, SaleStore] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def store_for(bind: Engine | Connection | Session | sessionmaker[Session]) -> SaleStore:
    """The sale store of `bind`'s engine (built on first use, then kept with the engine)."""
    if isinstance(bind, sessionmaker):
        bind = engine_of(bind)
    elif isinstance(bind, Session):
        bind = bind.get_bind()
    engine = bind.engine  # an Engine's is itself
    store = _stores.get(engine)
    if store is None:
        with _guard:
            store = _stores.get(engine)
            if store is None:
                kind = database_kind(engine)
                store = _stores[engine] = PostgresStore() if kind == "postgresql" else SQLiteStore()
    return store
