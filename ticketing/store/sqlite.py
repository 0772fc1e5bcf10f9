"""The sale store on SQLite: plain statements under the process's write lock.

SQLite has one writer at a time; `core.db.write_session` queues this process's writers
on a lock and starts each transaction with `BEGIN IMMEDIATE`, so every step below reads
and writes with nobody in between. Each operation is one short transaction of a few
statements built once per process (a multi-seat claim once per number of seats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, NoReturn

from sqlalchemy import Insert, bindparam, insert, literal, select, true, union_all, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Update

from core.db import DatabaseKind, conflict_insert, rowcount, table_of, write_session
from ticketing.errors import HoldExpired
from ticketing.fixtures import currency_of
from ticketing.ids import new_order_ref
from ticketing.models import (
    Customer,
    CustomerIdentity,
    Hold,
    IdempotencyKey,
    LedgerEntry,
    Order,
    Payment,
    SeatClaim,
    Ticket,
)
from ticketing.store.base import (
    Admission,
    Admitted,
    Claimed,
    HoldUnusable,
    NewHold,
    PaymentStart,
    Reserved,
    SaleStore,
    Settled,
    Settlement,
)

_CUSTOMERS, _IDENTITIES = table_of(Customer), table_of(CustomerIdentity)
_KEYS, _HOLDS, _CLAIMS = table_of(IdempotencyKey), table_of(Hold), table_of(SeatClaim)
_ORDERS, _PAYMENTS, _LEDGER = table_of(Order), table_of(Payment), table_of(LedgerEntry)
_TICKETS = table_of(Ticket)


@dataclass(frozen=True)
class _Statements:
    new_customer: Insert
    new_identity: Insert
    new_hold: Insert
    new_key: Insert
    order_hold: Update
    pend_claims: Update
    new_order: Insert
    new_payment: Insert
    rename_key: Update
    pay_order: Update
    sell_claims: Update
    capture: Update
    ledger: Insert
    tickets: Insert
    admit: Update


@cache
def _statements() -> _Statements:
    """The store's statements, built once per process."""
    now = bindparam("b_now", type_=_HOLDS.c.expires_at.type)
    return _Statements(
        new_customer=insert(_CUSTOMERS)
        .values(email=None, is_member=False, created_at=bindparam("b_now"))
        .returning(_CUSTOMERS.c.id),
        new_identity=insert(_IDENTITIES),
        new_hold=insert(_HOLDS),
        new_key=conflict_insert("sqlite", _KEYS).on_conflict_do_nothing().returning(_KEYS.c.key),
        order_hold=update(_HOLDS)
        .where(
            _HOLDS.c.id == bindparam("b_hold"),
            _HOLDS.c.customer_id == bindparam("b_customer"),
            _HOLDS.c.status == "active",
            _HOLDS.c.expires_at > now,
        )
        .values(status="ordered")
        .returning(_HOLDS.c.fixture_id, _HOLDS.c.total, _HOLDS.c.quantity, _HOLDS.c.lines),
        pend_claims=update(_CLAIMS)
        .where(
            _CLAIMS.c.hold_id == bindparam("b_hold"),
            _CLAIMS.c.status == "held",
            _CLAIMS.c.expires_at > now,
        )
        .values(status="pending", expires_at=None),
        new_order=conflict_insert("sqlite", _ORDERS)
        .on_conflict_do_nothing()
        .returning(_ORDERS.c.id),
        new_payment=insert(_PAYMENTS),
        rename_key=update(_KEYS)
        .where(_KEYS.c.key == bindparam("b_key"))
        .values(order_ref=bindparam("b_ref")),
        pay_order=update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("b_order"), _ORDERS.c.status == "pending")
        .values(status="paid", paid_at=bindparam("paid_at"))
        .returning(
            _ORDERS.c.customer_id,
            _ORDERS.c.fixture_id,
            _ORDERS.c.hold_id,
            _ORDERS.c.total,
            _ORDERS.c.currency,
            _ORDERS.c.ref,
            _ORDERS.c.created_at,
        ),
        sell_claims=update(_CLAIMS)
        .where(_CLAIMS.c.hold_id == bindparam("b_hold"), _CLAIMS.c.status == "pending")
        .values(status="sold"),
        capture=update(_PAYMENTS)
        .where(_PAYMENTS.c.reference == bindparam("b_reference"))
        .values(status="captured", settled_at=bindparam("settled_at")),
        ledger=insert(_LEDGER),
        tickets=insert(_TICKETS),
        admit=update(_TICKETS)
        .where(
            _TICKETS.c.id == bindparam("b_ticket"),
            _TICKETS.c.version == bindparam("b_version"),
            _TICKETS.c.fixture_id == bindparam("b_fixture"),
            _TICKETS.c.status == "valid",
        )
        .values(status="used")
        .returning(_TICKETS.c.id, _TICKETS.c.seat_id, _TICKETS.c.concession),
    )


@cache
def _claim_statement(count: int) -> Any:
    """Claim `count` seats: one INSERT ... SELECT ... ON CONFLICT DO UPDATE ... RETURNING.

    A seat is taken when nobody claims it or its claim is a hold that has expired.
    INSERT ... SELECT ... UNION ALL rather than a multi-row VALUES: SQLAlchemy caches
    the compiled form of this one (a multi-row VALUES is compiled anew on every call).
    """
    expires = bindparam("b_expires", type_=_CLAIMS.c.expires_at.type)
    rows = [
        select(
            bindparam("b_fixture", type_=_CLAIMS.c.fixture_id.type),
            bindparam(f"b_seat{n}", type_=_CLAIMS.c.seat_id.type),
            bindparam(f"b_section{n}", type_=_CLAIMS.c.section_id.type),
            bindparam("b_hold", type_=_CLAIMS.c.hold_id.type),
            bindparam("b_customer", type_=_CLAIMS.c.customer_id.type),
            literal("held", _CLAIMS.c.status.type),
            expires,
        ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
        for n in range(count)
    ]
    source = rows[0] if count == 1 else union_all(*rows)
    columns = ["fixture_id", "seat_id", "section_id", "hold_id", "customer_id", "status"]
    stmt = conflict_insert("sqlite", _CLAIMS).from_select([*columns, "expires_at"], source)
    return stmt.on_conflict_do_update(
        index_elements=[_CLAIMS.c.fixture_id, _CLAIMS.c.seat_id],
        set_={
            "section_id": stmt.excluded.section_id,
            "hold_id": stmt.excluded.hold_id,
            "customer_id": stmt.excluded.customer_id,
            "status": stmt.excluded.status,
            "expires_at": stmt.excluded.expires_at,
        },
        where=(_CLAIMS.c.status == "held")
        & (_CLAIMS.c.expires_at <= bindparam("b_now", type_=_CLAIMS.c.expires_at.type)),
    ).returning(_CLAIMS.c.seat_id)


class SQLiteStore(SaleStore):
    """The sale store on SQLite (the embedded default)."""

    kind: ClassVar[DatabaseKind] = "sqlite"
    first_holds_outside_transactions: ClassVar[bool] = False

    def __init__(self) -> None:
        self._sql = _statements()

    def create_fan(self, session: Session, external_id: str, now: datetime) -> int:
        conn = session.connection()
        found = int(conn.execute(self._sql.new_customer, {"b_now": now}).scalar_one())
        conn.execute(
            self._sql.new_identity,
            {"external_id": external_id, "customer_id": found, "created_at": now},
        )
        return found

    def lock_fan(self, session: Session, customer_id: int) -> None:
        """Nothing to do: the transaction holds the database's write lock already."""

    def lock_source(self, session: Session, name: str) -> None:
        """Nothing to do: the transaction holds the database's write lock already."""

    def claim_and_hold(
        self, session: Session, hold: NewHold, *, customer_id: int | None, new_fan: str | None
    ) -> Claimed:
        if new_fan is not None:
            customer_id = self.create_fan(session, new_fan, hold.now)
        assert customer_id is not None
        ordered = sorted(hold.seats, key=lambda s: s.id)
        count = len(ordered)
        statement = _claim_statement(count)
        params: dict[str, Any] = {
            "b_fixture": hold.fixture_id,
            "b_hold": hold.id,
            "b_customer": customer_id,
            "b_expires": hold.expires_at,
            "b_now": hold.now,
        }
        for n, seat in enumerate(ordered):
            params[f"b_seat{n}"] = seat.id
            params[f"b_section{n}"] = seat.section_id
        conn = session.connection()
        claimed = sorted(conn.execute(statement, params).scalars())
        if len(claimed) != count:
            return Claimed(customer_id, claimed, complete=False)
        conn.execute(
            self._sql.new_hold,
            {
                "id": hold.id,
                "customer_id": customer_id,
                "fixture_id": hold.fixture_id,
                "kind": hold.kind,
                "status": "active",
                "quantity": count,
                "total": hold.total,
                "lines": hold.lines,
                "created_at": hold.now,
                "expires_at": hold.expires_at,
            },
        )
        return Claimed(customer_id, claimed, complete=True)

    def first_hold(self, session: Session, hold: NewHold, new_fan: str) -> NoReturn:
        raise NotImplementedError("SQLite serializes writers: holds take the locking path")

    def reserve(self, db: sessionmaker[Session], start: PaymentStart) -> Reserved | None:
        sql = self._sql
        ref = new_order_ref(start.order_prefix)
        with write_session(db) as session:
            conn = session.connection()
            key = {
                "key": start.key,
                "request_hash": start.request_hash,
                "order_ref": ref,
                "created_at": start.now,
            }
            if conn.execute(sql.new_key, key).scalar() is None:
                return None  # the key is known: a replay
            ids = {"b_hold": start.hold_id, "b_customer": start.customer_id, "b_now": start.now}
            hold = conn.execute(sql.order_hold, ids).one_or_none()
            if hold is None:
                raise HoldUnusable(start.hold_id)
            fixture_id, total, quantity, lines = hold
            moved = rowcount(conn.execute(sql.pend_claims, ids))
            if moved != quantity:
                raise HoldExpired("this hold has expired; its seats were released", field="hold_id")
            currency = currency_of(session, fixture_id)  # cached: it never changes
            order_id, ref = self._insert_order(conn, start, ref, fixture_id, total, currency)
        return Reserved(
            order_id, ref, f"pay_{ref}", total, currency, fixture_id, start.customer_id,
            start.hold_id, lines,
        )  # fmt: skip

    def _insert_order(
        self,
        conn: Connection,
        start: PaymentStart,
        ref: str,
        fixture_id: int,
        total: int,
        currency: str,
    ) -> tuple[int, str]:
        """The order and its payment under a free reference (`ref` first)."""
        for attempt in range(5):
            if attempt:  # a reference collision (rare, but possible): draw another
                ref = new_order_ref(start.order_prefix)
                conn.execute(self._sql.rename_key, {"b_key": start.key, "b_ref": ref})
            order = {
                "ref": ref,
                "customer_id": start.customer_id,
                "fixture_id": fixture_id,
                "hold_id": start.hold_id,
                "status": "pending",
                "total": total,
                "currency": currency,
                "payment_source": start.token,
                "origin": "purchase",
                "created_at": start.now,
            }
            order_id = conn.execute(self._sql.new_order, order).scalar()
            if order_id is not None:
                payment = {
                    "reference": f"pay_{ref}",
                    "kind": "order",
                    "provider": start.provider,
                    "source": start.token,
                    "amount": total,
                    "currency": currency,
                    "status": "started",
                    "created_at": start.now,
                    "order_id": order_id,
                }
                conn.execute(self._sql.new_payment, payment)
                return int(order_id), ref
        raise RuntimeError("could not find a free order reference")

    def settle(self, db: sessionmaker[Session], settlement: Settlement) -> Settled | None:
        sql, now = self._sql, settlement.now
        with write_session(db) as session:
            conn = session.connection()
            row = conn.execute(
                sql.pay_order, {"b_order": settlement.order_id, "paid_at": now}
            ).one_or_none()
            if row is None:
                return None
            settled = Settled(*row)
            conn.execute(sql.sell_claims, {"b_hold": settled.hold_id})
            conn.execute(sql.capture, {"b_reference": settlement.reference, "settled_at": now})
            conn.execute(
                sql.ledger,
                {
                    "kind": "payment",
                    "order_id": settlement.order_id,
                    "amount": settled.total,
                    "currency": settled.currency,
                    "reference": settlement.reference,
                    "at": now,
                },
            )
            conn.execute(sql.tickets, settlement.tickets)
        return settled

    def admit(
        self, session: Session, admissions: Sequence[Admission], now: datetime
    ) -> dict[int, Admitted]:
        conn = session.connection()
        admitted: dict[int, Admitted] = {}
        for one in admissions:
            row = conn.execute(
                self._sql.admit,
                {
                    "b_ticket": one.ticket_id,
                    "b_version": one.version,
                    "b_fixture": one.fixture_id,
                    "used_at": now,
                    "used_gate": one.gate,
                    "checkin_nonce": one.nonce,
                },
            ).one_or_none()
            if row is not None:
                admitted[int(row[0])] = Admitted(int(row[1]), row[2])
        return admitted

    def rows(
        self, bind: Session | Connection, statement: Any, parameters: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        connection = bind if isinstance(bind, Connection) else bind.connection()
        result = connection.execute(statement, parameters)
        return list(result.tuples()) if result.returns_rows else []

    def refresh_statistics(self, session: Session, tables: Sequence[str]) -> None:
        """Nothing to do: SQLite plans these queries well without statistics."""
