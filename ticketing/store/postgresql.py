"""The sale store on PostgreSQL: each step of a sale is one statement.

Writers run concurrently under READ COMMITTED. Every step that must write all or
nothing is a single statement of data-modifying CTEs, so it is atomic by itself and
runs in autocommit (no BEGIN and COMMIT round trips); when a step inside it finds what
it needed gone, the statement calls `ticketing_abort(reason)` (migration 0004), which
undoes every row it wrote and raises SQLSTATE `ABORT` with the reason.

Locking discipline (no deadlocks): seat claims are always locked in seat id order
(claims, payments and settlements alike), a fan's row is locked before their claims are
counted, and a statement never waits on a claim it will not take (claims already held
by others are skipped before the upsert). The statements are built once per store and
run on the driver (`driver.driver_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, ClassVar

from sqlalchemy import Integer, String, TextClause, bindparam, column, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Select

from core.db import DatabaseKind, own_transaction, table_of
from ticketing.errors import HoldExpired
from ticketing.ids import new_order_ref
from ticketing.models import Customer, Hold, IdempotencyKey, Order, Ticket
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
    Settled,
    Settlement,
)
from ticketing.store.driver import array_literal, driver_rows

ABORT = "MD001"
"""The SQLSTATE `ticketing_abort(reason)` raises (migration 0004)."""

# The reasons the statements give `ticketing_abort`.
_SEAT_TAKEN, _NOT_ON_SALE = "seat_taken", "not_on_sale"
_HOLD_UNUSABLE, _HOLD_EXPIRED, _REF_TAKEN = "hold_unusable", "hold_expired", "ref_taken"

_HOLDS, _ORDERS, _TICKETS = table_of(Hold), table_of(Order), table_of(Ticket)
_KEYS = table_of(IdempotencyKey)


def aborted(exc: BaseException) -> str | None:
    """The reason a statement gave to `ticketing_abort`, or None for any other error."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) != ABORT:
        return None
    return str(getattr(getattr(orig, "diag", None), "message_primary", "") or "")


def _create_fan() -> TextClause:
    """The fan and their identity in one statement."""
    return text(
        """
        WITH made AS (
            INSERT INTO customers (email, is_member, created_at)
            VALUES (NULL, false, :b_now) RETURNING id
        )
        INSERT INTO customer_identities (external_id, customer_id, created_at)
        SELECT :b_external, id, :b_now FROM made RETURNING customer_id
        """
    ).bindparams(bindparam("b_now", type_=table_of(Customer).c.created_at.type))


def _lock_fan() -> Select[Any]:
    customers = table_of(Customer)
    return (
        select(customers.c.id)
        .where(customers.c.id == bindparam("b_customer"))
        .with_for_update(of=customers)
    )


def _claim_and_hold(new_fan: bool, all_or_nothing: bool) -> TextClause:
    """Claim the seats and write the hold in one statement (a new fan too).

    The claims are an atomic upsert in seat id order: a seat is taken when nobody
    claims it or its claim is a hold that has expired; the hold row is written only
    when every seat was claimed. Seats already claimed when the statement starts are
    not even tried: the upsert would lock another fan's claim, and their payment, which
    moves that claim, would wait for this transaction. That test is a correlated scalar
    subquery, not NOT EXISTS: one primary-key probe per seat. As an anti-join, with the
    statistics of a table that grew since it was last analysed, PostgreSQL read every
    claim of the fixture per hold, a cost that grew with each sale.

    With `all_or_nothing` the statement aborts when a seat was taken, or when the
    fixture is not on general sale at `b_now` (the caller may have read it from a recent
    copy), undoing every claim and the fan it made: it can run in autocommit.
    """
    fan = "(SELECT id FROM fan)" if new_fan else ":b_customer"
    new = (
        """
        fan AS (
            INSERT INTO customers (email, is_member, created_at)
            VALUES (NULL, false, :b_now) RETURNING id
        ), identity AS (
            INSERT INTO customer_identities (external_id, customer_id, created_at)
            SELECT :b_external, id, :b_now FROM fan
        ),"""
        if new_fan
        else ""
    )
    # On general sale: `sale_state(...) == "on_sale"` in SQL.
    guard = (
        """,
            CASE WHEN NOT EXISTS (
                     SELECT 1 FROM fixtures f
                     WHERE f.id = :b_fixture AND f.status <> 'cancelled'
                       AND :b_now < COALESCE(f.sale_closes_at, f.kickoff)
                       AND (f.general_sale_opens_at IS NULL
                            OR :b_now >= f.general_sale_opens_at))
                 THEN ticketing_abort(:b_closed)
                 WHEN (SELECT count(*) FROM claimed) <> :b_quantity
                 THEN ticketing_abort(:b_taken)
                 ELSE 0 END"""
        if all_or_nothing
        else ""
    )
    # Only the constant fragments above are interpolated; values are bound.
    statement = f"""
        WITH {new} claimed AS (
            INSERT INTO seat_claims (fixture_id, seat_id, section_id, hold_id, customer_id,
                                     status, expires_at)
            SELECT :b_fixture, s.seat_id, s.section_id, :b_hold, {fan}, 'held', :b_expires
            FROM unnest(CAST(:b_seat_ids AS integer[]), CAST(:b_section_ids AS integer[]))
                 WITH ORDINALITY AS s(seat_id, section_id, n)
            WHERE (
                SELECT 1 FROM seat_claims c
                WHERE c.fixture_id = :b_fixture AND c.seat_id = s.seat_id
                  AND (c.status <> 'held' OR c.expires_at > :b_now)) IS NULL
            ORDER BY s.n
            ON CONFLICT (fixture_id, seat_id) DO UPDATE SET
                section_id = excluded.section_id, hold_id = excluded.hold_id,
                customer_id = excluded.customer_id, status = excluded.status,
                expires_at = excluded.expires_at
            WHERE seat_claims.status = 'held' AND seat_claims.expires_at <= :b_now
            RETURNING seat_id
        ), made AS (
            INSERT INTO holds (id, customer_id, fixture_id, kind, status, quantity, total, lines,
                               created_at, expires_at)
            SELECT :b_hold, {fan}, :b_fixture, :b_kind, 'active', :b_quantity, :b_total,
                   :b_lines, :b_now, :b_expires
            WHERE (SELECT count(*) FROM claimed) = :b_quantity
        )
        SELECT {fan}, ARRAY(SELECT seat_id FROM claimed){guard}
    """  # noqa: S608
    return text(statement).bindparams(
        bindparam("b_now", type_=_HOLDS.c.created_at.type),
        bindparam("b_expires", type_=_HOLDS.c.expires_at.type),
        bindparam("b_lines", type_=_HOLDS.c.lines.type),
    )


def _reserve() -> Any:
    """The whole reservation in one statement.

    Each step runs only if the one before it succeeded: the key is new, the hold was
    active and the fan's, every claim moved, the order reference was free. A step that
    stops after the key was written aborts the statement with the reason; a key that
    exists already writes nothing and returns `fresh` 0 (a replay). The claims are
    locked in seat id order, the order in which holds claim seats, so a buyer's upsert
    that touches them cannot deadlock with this payment.
    """
    return (
        text(
            """
        WITH k AS (
            INSERT INTO idempotency_keys (key, request_hash, order_ref, created_at)
            VALUES (:key, :request_hash, :ref, :now)
            ON CONFLICT DO NOTHING RETURNING key
        ), held AS (
            UPDATE holds SET status = 'ordered'
            WHERE id = :b_hold AND customer_id = :b_customer AND status = 'active'
              AND expires_at > :now AND EXISTS (SELECT 1 FROM k)
            RETURNING fixture_id, total, quantity, lines
        ), mine AS (
            SELECT seat_id FROM seat_claims WHERE hold_id = :b_hold
            ORDER BY seat_id FOR UPDATE
        ), moved AS (
            UPDATE seat_claims SET status = 'pending', expires_at = NULL
            WHERE hold_id = :b_hold AND status = 'held' AND expires_at > :now
              AND seat_id IN (SELECT seat_id FROM mine) AND EXISTS (SELECT 1 FROM held)
            RETURNING seat_id
        ), made AS (
            INSERT INTO orders (ref, customer_id, fixture_id, hold_id, status, total, currency,
                                payment_source, origin, created_at)
            SELECT :ref, :b_customer, held.fixture_id, :b_hold, 'pending', held.total,
                   f.currency, :token, 'purchase', :now
            FROM held JOIN fixtures f ON f.id = held.fixture_id
            WHERE held.quantity = (SELECT count(*) FROM moved)
            ON CONFLICT DO NOTHING RETURNING id, total, currency
        ), paid AS (
            INSERT INTO payments (reference, kind, provider, source, amount, currency, status,
                                  created_at, order_id)
            SELECT 'pay_' || :ref, 'order', :provider, :token, made.total, made.currency,
                   'started', :now, made.id
            FROM made RETURNING order_id
        )
        SELECT (SELECT count(*) FROM k), held.fixture_id, held.total, held.quantity,
               held.lines, (SELECT order_id FROM paid), (SELECT currency FROM made),
               CASE WHEN NOT EXISTS (SELECT 1 FROM k) THEN 0
                    WHEN held.fixture_id IS NULL THEN ticketing_abort(:hold_unusable)
                    WHEN held.quantity <> (SELECT count(*) FROM moved)
                         THEN ticketing_abort(:hold_expired)
                    WHEN NOT EXISTS (SELECT 1 FROM paid) THEN ticketing_abort(:ref_taken)
                    ELSE 0 END
        FROM (SELECT 1) AS one LEFT JOIN held ON true
        """
        )
        .bindparams(
            bindparam("now", type_=_KEYS.c.created_at.type),
            bindparam("key", type_=_KEYS.c.key.type),
            bindparam("ref", type_=_ORDERS.c.ref.type),
        )
        .columns(
            column("fresh", Integer),
            column("fixture_id", Integer),
            column("total", Integer),
            column("quantity", Integer),
            column("lines", _HOLDS.c.lines.type),
            column("order_id", Integer),
            column("currency", String),
            column("guard", Integer),
        )
    )


def _settle() -> Any:
    """Settle the order and insert its (already signed) tickets in one statement; every
    part is conditional on the order still being pending."""
    return (
        text(
            """
        WITH settled AS (
            UPDATE orders SET status = 'paid', paid_at = :now
            WHERE id = :b_order AND status = 'pending'
            RETURNING customer_id, fixture_id, hold_id, total, currency, ref, created_at
        ), mine AS (  -- locked in seat id order, as holds claim them (no deadlock)
            SELECT seat_id FROM seat_claims WHERE hold_id IN (SELECT hold_id FROM settled)
            ORDER BY seat_id FOR UPDATE
        ), sold AS (
            UPDATE seat_claims SET status = 'sold'
            WHERE status = 'pending' AND hold_id IN (SELECT hold_id FROM settled)
              AND seat_id IN (SELECT seat_id FROM mine)
        ), captured AS (
            UPDATE payments SET status = 'captured', settled_at = :now
            WHERE reference = :b_reference AND EXISTS (SELECT 1 FROM settled)
        ), entry AS (
            INSERT INTO ledger_entries (kind, order_id, amount, currency, reference, at)
            SELECT 'payment', :b_order, total, currency, :b_reference, :now FROM settled
        ), issued AS (
            INSERT INTO tickets (id, order_id, fixture_id, seat_id, holder_id, price, concession,
                                 status, version, key_id, code, issued_at)
            SELECT t.id, :b_order, settled.fixture_id, t.seat_id, settled.customer_id, t.price,
                   t.concession, 'valid', 1, t.key_id, t.code, :now
            FROM settled, unnest(CAST(:ids AS bigint[]), CAST(:seat_ids AS integer[]),
                                 CAST(:prices AS integer[]), CAST(:concessions AS text[]),
                                 CAST(:key_ids AS text[]), CAST(:codes AS text[]))
                 AS t(id, seat_id, price, concession, key_id, code)
        )
        SELECT customer_id, fixture_id, hold_id, total, currency, ref, created_at FROM settled
        """
        )
        .bindparams(bindparam("now", type_=_ORDERS.c.paid_at.type))
        .columns(
            column("customer_id", Integer),
            column("fixture_id", Integer),
            column("hold_id", String),
            column("total", Integer),
            column("currency", String),
            column("ref", String),
            column("created_at", _ORDERS.c.created_at.type),
        )
    )


def _admit() -> TextClause:
    """Every scan of a batch in one statement: one round trip however many gates scanned."""
    return text(
        "UPDATE tickets AS t SET status = 'used', used_at = :b_now,"
        " used_gate = v.gate, checkin_nonce = v.nonce"
        " FROM unnest(CAST(:b_ids AS bigint[]), CAST(:b_versions AS integer[]),"
        " CAST(:b_fixtures AS integer[]), CAST(:b_gates AS text[]),"
        " CAST(:b_nonces AS text[])) AS v(id, version, fixture_id, gate, nonce)"
        " WHERE t.id = v.id AND t.version = v.version"
        " AND t.fixture_id = v.fixture_id AND t.status = 'valid'"
        " RETURNING t.id, t.seat_id, t.concession"
    ).bindparams(bindparam("b_now", type_=_TICKETS.c.used_at.type))


@dataclass(frozen=True)
class _Statements:
    create_fan: TextClause
    lock_fan: Select[Any]
    lock_source: TextClause
    hold: TextClause  # a known fan, in a transaction
    hold_new_fan: TextClause  # a new fan, in a transaction
    first_hold: TextClause  # a new fan, all or nothing, in autocommit
    reserve: Any
    settle: Any
    admit: TextClause


@cache
def _statements() -> _Statements:
    """The store's statements, built once per process."""
    return _Statements(
        create_fan=_create_fan(),
        lock_fan=_lock_fan(),
        lock_source=text("SELECT pg_advisory_xact_lock(hashtextextended(:b_name, 0))"),
        hold=_claim_and_hold(new_fan=False, all_or_nothing=False),
        hold_new_fan=_claim_and_hold(new_fan=True, all_or_nothing=False),
        first_hold=_claim_and_hold(new_fan=True, all_or_nothing=True),
        reserve=_reserve(),
        settle=_settle(),
        admit=_admit(),
    )


class PostgresStore(SaleStore):
    """The sale store on PostgreSQL (match-day deployments)."""

    kind: ClassVar[DatabaseKind] = "postgresql"
    first_holds_outside_transactions: ClassVar[bool] = True

    def __init__(self) -> None:
        self._sql = _statements()

    def create_fan(self, session: Session, external_id: str, now: datetime) -> int:
        rows = driver_rows(
            session.connection(), self._sql.create_fan, {"b_now": now, "b_external": external_id}
        )
        return int(rows[0][0])

    def lock_fan(self, session: Session, customer_id: int) -> None:
        # Lock first, count in a later statement: under READ COMMITTED a statement that
        # waited for the lock would still count from the snapshot taken before the wait,
        # missing the seats the previous lock holder just committed.
        session.connection().execute(self._sql.lock_fan, {"b_customer": customer_id})

    def lock_source(self, session: Session, name: str) -> None:
        # A transaction-scoped advisory lock on the name's 64-bit hash: no row to lock
        # (an address is not a table), released at COMMIT or ROLLBACK.
        session.connection().execute(self._sql.lock_source, {"b_name": name})

    def _hold_parameters(
        self, hold: NewHold, customer_id: int | None, new_fan: str | None
    ) -> dict[str, Any]:
        ordered = sorted(hold.seats, key=lambda s: s.id)
        return {
            "b_external": new_fan,
            "b_customer": customer_id,
            "b_fixture": hold.fixture_id,
            "b_hold": hold.id,
            "b_kind": hold.kind,
            "b_quantity": len(ordered),
            "b_total": hold.total,
            "b_lines": hold.lines,
            "b_now": hold.now,
            "b_expires": hold.expires_at,
            "b_seat_ids": array_literal(s.id for s in ordered),
            "b_section_ids": array_literal(s.section_id for s in ordered),
        }

    def claim_and_hold(
        self, session: Session, hold: NewHold, *, customer_id: int | None, new_fan: str | None
    ) -> Claimed:
        statement = self._sql.hold if new_fan is None else self._sql.hold_new_fan
        parameters = self._hold_parameters(hold, customer_id, new_fan)
        fan, claimed = driver_rows(session.connection(), statement, parameters)[0][:2]
        return Claimed(fan, sorted(claimed), complete=len(claimed) == len(hold.seats))

    def first_hold(self, session: Session, hold: NewHold, new_fan: str) -> Claimed:
        parameters = self._hold_parameters(hold, None, new_fan)
        parameters.update(b_taken=_SEAT_TAKEN, b_closed=_NOT_ON_SALE)
        try:
            rows = driver_rows(session.connection(), self._sql.first_hold, parameters)
        except DBAPIError as exc:
            reason = aborted(exc)
            if reason == _NOT_ON_SALE:
                raise SaleChanged from None
            if reason != _SEAT_TAKEN:
                raise
            return Claimed(0, [], complete=False)
        fan, claimed = rows[0][:2]
        return Claimed(fan, sorted(claimed), complete=True)

    def reserve(self, db: sessionmaker[Session], start: PaymentStart) -> Reserved | None:
        for _attempt in range(5):
            ref = new_order_ref(start.order_prefix)
            params = {
                "key": start.key,
                "request_hash": start.request_hash,
                "ref": ref,
                "now": start.now,
                "b_hold": start.hold_id,
                "b_customer": start.customer_id,
                "token": start.token,
                "provider": start.provider,
                "hold_unusable": _HOLD_UNUSABLE,
                "hold_expired": _HOLD_EXPIRED,
                "ref_taken": _REF_TAKEN,
            }
            try:
                with own_transaction(db) as connection:
                    row = driver_rows(connection, self._sql.reserve, params)[0]
            except DBAPIError as exc:
                reason = aborted(exc)
                if reason == _REF_TAKEN:
                    continue  # a reference collision (rare, but possible): draw another
                if reason == _HOLD_EXPIRED:
                    raise HoldExpired(
                        "this hold has expired; its seats were released", field="hold_id"
                    ) from None
                if reason == _HOLD_UNUSABLE:
                    raise HoldUnusable(start.hold_id) from None
                raise
            fresh, fixture_id, total, _quantity, lines, order_id, currency, _guard = row
            if not fresh:
                return None
            return Reserved(
                order_id, ref, f"pay_{ref}", total, currency, fixture_id, start.customer_id,
                start.hold_id, lines,
            )  # fmt: skip
        raise RuntimeError("could not find a free order reference")

    def settle(self, db: sessionmaker[Session], settlement: Settlement) -> Settled | None:
        rows = settlement.tickets
        with own_transaction(db) as connection:
            found = driver_rows(
                connection,
                self._sql.settle,
                {
                    "b_order": settlement.order_id,
                    "now": settlement.now,
                    "b_reference": settlement.reference,
                    "ids": array_literal(r["id"] for r in rows),
                    "seat_ids": array_literal(r["seat_id"] for r in rows),
                    "prices": array_literal(r["price"] for r in rows),
                    "concessions": array_literal(r["concession"] for r in rows),
                    "key_ids": array_literal(r["key_id"] for r in rows),
                    "codes": array_literal(r["code"] for r in rows),
                },
            )
        return Settled(*found[0]) if found else None

    def admit(
        self, session: Session, admissions: Sequence[Admission], now: datetime
    ) -> dict[int, Admitted]:
        rows = session.connection().execute(
            self._sql.admit,
            {
                "b_now": now,
                "b_ids": [a.ticket_id for a in admissions],
                "b_versions": [a.version for a in admissions],
                "b_fixtures": [a.fixture_id for a in admissions],
                "b_gates": [a.gate for a in admissions],
                "b_nonces": [a.nonce for a in admissions],
            },
        )
        return {int(t): Admitted(int(seat), concession) for t, seat, concession in rows}

    def rows(
        self, bind: Session | Connection, statement: Any, parameters: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        connection = bind if isinstance(bind, Connection) else bind.connection()
        return driver_rows(connection, statement, parameters)

    def refresh_statistics(self, session: Session, tables: Sequence[str]) -> None:
        # Fresh statistics, so the planner uses the indexes from the first sale on.
        for table in tables:
            session.execute(text(f'ANALYZE "{table}"'))
