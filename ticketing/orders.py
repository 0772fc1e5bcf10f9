"""Orders: paying for a hold exactly once, and showing fans what they bought.

Paying runs in three short steps, each one transaction or one provider call:

1. *Reserve*: record the idempotency key, turn the hold into a `pending` order
   and its claims into `pending` claims that no longer expire.
2. *Charge* the provider with the order's payment reference (idempotent there).
3. *Settle*: captured → tickets issued, claims sold, ledger entry, order `paid`;
   declined → order deleted, seats freed. A timeout leaves the order `pending`:
   the same Idempotency-Key again, or `reconcile`, asks the provider and settles.

Settling is guarded by `UPDATE orders ... WHERE status = 'pending'`, so however
many requests race to settle, tickets are issued once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import (
    Connection,
    Integer,
    String,
    bindparam,
    column,
    delete,
    exists,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import engine_of, own_transaction, read_session, retrying, write_session
from ticketing.club import current_club
from ticketing.customers import lookup_customer, resolve_customer
from ticketing.db import (
    aborted,
    array_literal,
    driver_rows,
    insert_for,
    prepared,
    rowcount,
    table_of,
)
from ticketing.errors import (
    HoldAlreadyOrdered,
    HoldExpired,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
    PaymentDeclined,
    PaymentTimeout,
)
from ticketing.fixtures import currency_of
from ticketing.keys import KeyRing, default_keyring
from ticketing.models import Hold, IdempotencyKey, LedgerEntry, Order, Payment, SeatClaim, Ticket
from ticketing.payments import ChargeResult, PaymentProvider, ProviderTimeout, provider_for
from ticketing.tickets import (
    NewTicket,
    SeatInfo,
    TicketView,
    issue_tickets,
    order_tickets,
    signed_tickets,
)

REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class OrderView:
    """An order as fans and adapters see it; `origin` is purchase, exchange or transfer
    (a ticket received from another fan: refundable, not to be exchanged or passed on)."""

    ref: str
    status: str
    fixture_id: int
    total: int
    currency: str
    created_at: datetime
    paid_at: datetime | None
    tickets: list[TicketView]
    origin: str = "purchase"


@dataclass(frozen=True)
class PaymentOutcome:
    """The paid order, and whether this answer replays an earlier request."""

    order: OrderView
    replayed: bool


def new_order_ref(prefix: str) -> str:
    """A fan-facing order reference: the club's order prefix and six characters (RA-7KX2QD)."""
    # The alphabet has 32 letters: 5 random bits pick one, uniformly (one call for all).
    return f"{prefix}-" + "".join(REF_ALPHABET[b & 31] for b in secrets.token_bytes(6))


def order_prefix(db: sessionmaker[Session]) -> str:
    """The prefix of the club's order references (read once per process)."""
    with db() as session:
        return current_club(session).order_prefix


def free_order_ref(connection: Session | Connection, prefix: str) -> str:
    """A new order reference with `prefix` that no order has yet (in the caller's
    transaction)."""
    for _attempt in range(5):
        ref = new_order_ref(prefix)  # a collision is rare, but possible: draw again
        if connection.scalar(select(_ORDERS.c.id).where(_ORDERS.c.ref == ref)) is None:
            return ref
    raise RuntimeError("could not find a free order reference")


def _request_hash(customer: str, hold_id: str, method: str, token: str) -> str:
    body = json.dumps([customer, hold_id, method, token], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def check_idempotency_key(key: str) -> str:
    """An Idempotency-Key is 1-255 visible ASCII characters."""
    if not key or len(key) > MAX_KEY_LENGTH or not all(33 <= ord(c) < 127 for c in key):
        raise InvalidRequest(
            "Idempotency-Key must be 1-255 visible ASCII characters", field="Idempotency-Key"
        )
    return key


def order_view(session: Session, order: Order) -> OrderView:
    """An order with all its tickets."""
    return OrderView(
        ref=order.ref,
        status=order.status,
        fixture_id=order.fixture_id,
        total=order.total,
        currency=order.currency,
        created_at=order.created_at,
        paid_at=order.paid_at,
        tickets=order_tickets(session, order.id),
        origin=order.origin,
    )


def get_order(session: Session, customer: str, order_ref: str) -> OrderView:
    """The fan's order by reference (another fan's order is `NotFound`)."""
    return order_view(session, find_order(session, customer, order_ref))


def find_order(session: Session, customer: str, order_ref: str) -> Order:
    """The fan's order row; `NotFound` for unknown refs and other fans' orders."""
    customer_id = lookup_customer(session, customer)
    order = session.scalar(select(Order).where(Order.ref == str(order_ref).upper()))
    if order is None or customer_id is None or order.customer_id != customer_id:
        raise NotFound(f"no order {order_ref}", field="order_id")
    return order


def orders_of(session: Session, customer: str, *, fixture_id: int | None = None) -> list[OrderView]:
    """The fan's orders, newest first (pending ones included)."""
    customer_id = lookup_customer(session, customer)
    if customer_id is None:
        return []
    query = select(Order).where(Order.customer_id == customer_id)
    if fixture_id is not None:
        query = query.where(Order.fixture_id == fixture_id)
    orders = session.scalars(query.order_by(Order.created_at.desc(), Order.id.desc())).all()
    return [order_view(session, order) for order in orders]


# --- paying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reserved:
    order_id: int
    ref: str
    reference: str
    amount: int
    currency: str
    fixture_id: int
    customer_id: int
    hold_id: str
    lines: list[dict[str, Any]]


def pay_order(
    db: sessionmaker[Session],
    customer: str,
    hold_id: str,
    *,
    token: str,
    idempotency_key: str,
    method: str = "sandbox",
    provider: PaymentProvider | None = None,
    keys: KeyRing | None = None,
    now: datetime | None = None,
) -> PaymentOutcome:
    """Pay for the fan's hold; returns the paid order with its tickets.

    The same `idempotency_key` with the same request returns the same order
    (`replayed=True`) and never charges twice; with a different request it raises
    `IdempotencyConflict`. Raises `NotFound` (unknown or another fan's hold),
    `HoldExpired`, `HoldAlreadyOrdered`, `PaymentDeclined` (no order remains, the
    seats are freed) and `PaymentTimeout` (the order stays pending; settle it by
    repeating the request or with `reconcile`).
    """
    check_idempotency_key(idempotency_key)
    provider = provider or provider_for(method, db)
    keys = keys or default_keyring()
    customer_id = resolve_customer(db, customer)
    request_hash = _request_hash(customer, hold_id, method, token)
    now = now or utcnow()
    reserved = retrying(
        lambda: _reserve(
            db, customer_id, hold_id, idempotency_key, request_hash, token, provider, now
        )
    )
    if reserved is None:
        return _replay(db, customer_id, idempotency_key, request_hash, provider, keys, now)
    try:
        result = provider.charge(reserved.reference, reserved.amount, reserved.currency, token)
    except ProviderTimeout as exc:
        raise PaymentTimeout(
            f"the payment provider did not answer; order {reserved.ref} is pending "
            "and will be settled (repeat the request with the same Idempotency-Key)",
            order_ref=reserved.ref,
        ) from exc
    order = _settle(db, reserved.order_id, result, keys, now, reserved=reserved)
    return PaymentOutcome(order=order, replayed=False)


_KEYS, _HOLDS, _CLAIMS = table_of(IdempotencyKey), table_of(Hold), table_of(SeatClaim)
_ORDERS, _PAYMENTS, _LEDGER = table_of(Order), table_of(Payment), table_of(LedgerEntry)
_TICKETS = table_of(Ticket)


def _build_reserve(dialect: str) -> dict[str, Any]:
    now = bindparam("b_now", type_=_HOLDS.c.expires_at.type)
    hold = (
        update(_HOLDS)
        .where(
            _HOLDS.c.id == bindparam("b_hold"),
            _HOLDS.c.customer_id == bindparam("b_customer"),
            _HOLDS.c.status == "active",
            _HOLDS.c.expires_at > now,
        )
        .values(status="ordered")
        .returning(_HOLDS.c.fixture_id, _HOLDS.c.total, _HOLDS.c.quantity, _HOLDS.c.lines)
    )
    claims = (
        update(_CLAIMS)
        .where(
            _CLAIMS.c.hold_id == bindparam("b_hold"),
            _CLAIMS.c.status == "held",
            _CLAIMS.c.expires_at > now,
        )
        .values(status="pending", expires_at=None)
    )
    order = insert_for(dialect, _ORDERS).on_conflict_do_nothing()
    sql: dict[str, Any] = {
        "key": insert_for(dialect, _KEYS).on_conflict_do_nothing().returning(_KEYS.c.key),
        "hold": hold,
        "claims": claims,
        "order": order.returning(_ORDERS.c.id),
        "payment": insert(_PAYMENTS),
    }
    return sql


_HOLD_UNUSABLE, _HOLD_EXPIRED, _REF_TAKEN = "hold_unusable", "hold_expired", "ref_taken"


def _build_reserve_all() -> Any:
    """PostgreSQL: the whole reservation in one statement (data-modifying CTEs).

    Each step runs only if the one before it succeeded: the key is new, the hold was
    active and the fan's, every claim moved, the order reference was free. A step that
    stops after the key was written undoes the whole statement (`ticketing_abort`,
    with the reason), so it is all or nothing by itself and runs in autocommit; a key
    that exists already writes nothing and returns `fresh` 0 (a replay).
    The claims are locked in seat id order, the order in which holds claim seats, so
    a buyer's upsert that touches them cannot deadlock with this payment.
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


def _reserve(
    db: sessionmaker[Session],
    customer_id: int,
    hold_id: str,
    key: str,
    request_hash: str,
    token: str,
    provider: PaymentProvider,
    now: datetime,
) -> _Reserved | None:
    if engine_of(db).dialect.name == "postgresql":
        return _reserve_at_once(db, customer_id, hold_id, key, request_hash, token, provider, now)
    ref = new_order_ref(order_prefix(db))
    with write_session(db) as session:
        sql = prepared(session, "orders.reserve", _build_reserve)
        conn = session.connection()

        def make_order(
            ref: str | None, fixture_id: int, total: int, currency: str
        ) -> tuple[int, str]:
            return _make_order(
                session,
                sql,
                ref,
                customer_id,
                hold_id,
                key,
                token,
                provider,
                now,
                fixture_id,
                total,
                currency,
            )

        fresh = conn.execute(
            sql["key"],
            {"key": key, "request_hash": request_hash, "order_ref": ref, "created_at": now},
        ).scalar()
        if fresh is None:
            return None
        hold_params = {"b_hold": hold_id, "b_customer": customer_id, "b_now": now}
        hold = conn.execute(sql["hold"], hold_params).one_or_none()
        if hold is None:
            _explain_unusable_hold(session, hold_id, customer_id)
        fixture_id, total, quantity, lines = hold
        moved = rowcount(conn.execute(sql["claims"], {"b_hold": hold_id, "b_now": now}))
        if moved != quantity:
            raise HoldExpired("this hold has expired; its seats were released", field="hold_id")
        currency = currency_of(session, fixture_id)
        order_id, ref = make_order(ref, fixture_id, total, currency)
    return _Reserved(
        order_id, ref, f"pay_{ref}", total, currency, fixture_id, customer_id, hold_id, lines
    )


def _reserve_at_once(
    db: sessionmaker[Session],
    customer_id: int,
    hold_id: str,
    key: str,
    request_hash: str,
    token: str,
    provider: PaymentProvider,
    now: datetime,
) -> _Reserved | None:
    """PostgreSQL: `_reserve` as one all-or-nothing statement, outside a transaction."""
    prefix = order_prefix(db)
    for _attempt in range(5):
        ref = new_order_ref(prefix)
        params = {
            "key": key,
            "request_hash": request_hash,
            "ref": ref,
            "now": now,
            "b_hold": hold_id,
            "b_customer": customer_id,
            "token": token,
            "provider": provider.name,
            "hold_unusable": _HOLD_UNUSABLE,
            "hold_expired": _HOLD_EXPIRED,
            "ref_taken": _REF_TAKEN,
        }
        try:
            with own_transaction(db) as connection:
                statement = prepared(
                    connection, "orders.reserve_all", lambda _d: _build_reserve_all()
                )
                row = driver_rows(connection, statement, params)[0]
        except DBAPIError as exc:
            reason = aborted(exc)
            if reason == _REF_TAKEN:
                continue  # a reference collision (rare, but possible): draw another
            if reason == _HOLD_EXPIRED:
                raise HoldExpired(
                    "this hold has expired; its seats were released", field="hold_id"
                ) from None
            if reason == _HOLD_UNUSABLE:
                with read_session(db) as session:
                    _explain_unusable_hold(session, hold_id, customer_id)
            raise
        fresh, fixture_id, total, _quantity, lines, order_id, currency, _guard = row
        if not fresh:
            return None
        return _Reserved(
            order_id, ref, f"pay_{ref}", total, currency, fixture_id, customer_id, hold_id, lines
        )
    raise RuntimeError("could not find a free order reference")


def _make_order(
    session: Session,
    sql: dict[str, Any],
    ref: str | None,
    customer_id: int,
    hold_id: str,
    key: str,
    token: str,
    provider: PaymentProvider,
    now: datetime,
    fixture_id: int,
    total: int,
    currency: str,
) -> tuple[int, str]:
    """Insert the order and its payment under a free reference (`ref` first, if given)."""
    conn = session.connection()
    for _attempt in range(5):
        if ref is None:
            ref = new_order_ref(current_club(session).order_prefix)  # a rare collision
            session.execute(
                update(IdempotencyKey).where(IdempotencyKey.key == key).values(order_ref=ref)
            )
        order = {
            "ref": ref,
            "customer_id": customer_id,
            "fixture_id": fixture_id,
            "hold_id": hold_id,
            "status": "pending",
            "total": total,
            "currency": currency,
            "payment_source": token,
            "origin": "purchase",
            "created_at": now,
        }
        payment = {
            "reference": f"pay_{ref}",
            "kind": "order",
            "provider": provider.name,
            "source": token,
            "amount": total,
            "currency": currency,
            "status": "started",
            "created_at": now,
        }
        order_id = conn.execute(sql["order"], order).scalar()
        if order_id is not None:
            conn.execute(sql["payment"], {**payment, "order_id": order_id})
        if order_id is not None:
            return int(order_id), ref
        ref = None
    raise RuntimeError("could not find a free order reference")


def _explain_unusable_hold(session: Session, hold_id: str, customer_id: int) -> NoReturn:
    hold = session.get(Hold, hold_id)
    if hold is None or hold.customer_id != customer_id:
        raise NotFound(f"no hold {hold_id}", field="hold_id")
    if hold.status == "ordered":
        raise HoldAlreadyOrdered(
            "this hold has been paid (or is being paid) under another Idempotency-Key",
            field="hold_id",
        )
    raise HoldExpired("this hold has expired; its seats were released", field="hold_id")


def _replay(
    db: sessionmaker[Session],
    customer_id: int,
    key: str,
    request_hash: str,
    provider: PaymentProvider,
    keys: KeyRing,
    now: datetime,
) -> PaymentOutcome:
    with db() as session:
        record = session.get(IdempotencyKey, key)
        assert record is not None
        if record.request_hash != request_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request", field="Idempotency-Key"
            )
        order = session.scalar(select(Order).where(Order.ref == record.order_ref))
        if order is None:
            raise PaymentDeclined("the payment was declined; no order was made")
        if order.customer_id != customer_id:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request", field="Idempotency-Key"
            )
        if order.status != "pending":
            return PaymentOutcome(order=order_view(session, order), replayed=True)
        payment = session.scalar(
            select(Payment).where(Payment.order_id == order.id, Payment.kind == "order")
        )
        assert payment is not None
        order_id, reference, amount, currency, source = (
            order.id,
            payment.reference,
            payment.amount,
            payment.currency,
            payment.source,
        )
        ref = order.ref
    try:
        result = provider.charge(reference, amount, currency, source)
    except ProviderTimeout as exc:
        raise PaymentTimeout(
            f"the payment provider still has not answered; order {ref} stays pending",
            order_ref=ref,
        ) from exc
    return PaymentOutcome(order=_settle(db, order_id, result, keys, now), replayed=True)


def _settle(
    db: sessionmaker[Session],
    order_id: int,
    result: ChargeResult,
    keys: KeyRing,
    now: datetime,
    *,
    reserved: _Reserved | None = None,
) -> OrderView:
    if result.status == "declined":
        _fail(db, order_id, now)
        raise PaymentDeclined(
            f"the payment was declined ({result.reason}); no order was made and the seats "
            "were released"
        )
    for attempt in range(3):
        try:
            view = retrying(
                lambda: _settle_paid(db, order_id, keys, now, reserved, result.reference)
            )
            break
        except IntegrityError:  # a ticket id collided (53 random bits): draw again
            if attempt == 2:
                raise
    if view is not None:
        return view
    with db() as session:
        order = session.get(Order, order_id)
        assert order is not None
        return order_view(session, order)


def _build_settle(dialect: str) -> dict[str, Any]:
    paid_at = bindparam("paid_at", type_=_ORDERS.c.paid_at.type)
    order = (
        update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("b_order"), _ORDERS.c.status == "pending")
        .values(status="paid", paid_at=paid_at)
        .returning(
            _ORDERS.c.customer_id,
            _ORDERS.c.fixture_id,
            _ORDERS.c.hold_id,
            _ORDERS.c.total,
            _ORDERS.c.currency,
            _ORDERS.c.ref,
            _ORDERS.c.created_at,
        )
    )
    claims = update(_CLAIMS).where(_CLAIMS.c.status == "pending").values(status="sold")
    payment = (
        update(_PAYMENTS)
        .where(_PAYMENTS.c.reference == bindparam("b_reference"))
        .values(status="captured", settled_at=bindparam("settled_at"))
    )
    sql: dict[str, Any] = {
        "order": order,
        "claims": claims.where(_CLAIMS.c.hold_id == bindparam("b_hold")),
        "payment": payment,
        "ledger": insert(_LEDGER),
        "tickets": insert(_TICKETS),
    }
    if dialect == "postgresql":
        # One statement settles the order: claims sold, payment captured, ledger entry;
        # every part is conditional on the order still being pending.
        settled = order.cte("settled")
        sold = claims.where(_CLAIMS.c.hold_id.in_(select(settled.c.hold_id))).cte("sold")
        captured = payment.where(exists(select(settled.c.ref))).cte("captured")
        entry = insert(_LEDGER).from_select(
            ["kind", "order_id", "amount", "currency", "reference", "at"],
            select(
                literal("payment", _LEDGER.c.kind.type),
                bindparam("b_order", type_=_LEDGER.c.order_id.type),
                settled.c.total,
                settled.c.currency,
                bindparam("b_reference", type_=_LEDGER.c.reference.type),
                bindparam("paid_at", type_=_LEDGER.c.at.type),
            ),
        )
        sql["settle_all"] = (
            select(*settled.c).add_cte(sold, captured, entry.cte("entry")).select_from(settled)
        )
        sql["settle_and_issue"] = _build_settle_and_issue()
    return sql


def _build_settle_and_issue() -> Any:
    """PostgreSQL: settle the order and insert its (already signed) tickets in one statement.

    Every part is conditional on the order still being pending, as in `settle_all`.
    """
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


def _settle_paid(
    db: sessionmaker[Session],
    order_id: int,
    keys: KeyRing,
    now: datetime,
    reserved: _Reserved | None,
    reference: str,
) -> OrderView | None:
    """Issue the tickets of a captured order; None if someone else settled it meanwhile."""
    lines = reserved.lines if reserved is not None else None
    if reserved is not None and lines is not None and engine_of(db).dialect.name == "postgresql":
        # The order's fan, fixture and seats are known: sign first, write once, in one
        # statement that is its own transaction.
        rows = signed_tickets(
            keys,
            order_id=order_id,
            fixture_id=reserved.fixture_id,
            holder_id=reserved.customer_id,
            tickets=[NewTicket(line["id"], line["price"], line["concession"]) for line in lines],
            now=now,
        )
        with own_transaction(db) as connection:
            found = driver_rows(
                connection,
                prepared(connection, "orders.settle", _build_settle)["settle_and_issue"],
                {
                    "b_order": order_id,
                    "now": now,
                    "b_reference": reference,
                    "ids": array_literal(r["id"] for r in rows),
                    "seat_ids": array_literal(r["seat_id"] for r in rows),
                    "prices": array_literal(r["price"] for r in rows),
                    "concessions": array_literal(r["concession"] for r in rows),
                    "key_ids": array_literal(r["key_id"] for r in rows),
                    "codes": array_literal(r["code"] for r in rows),
                },
            )
        if not found:
            return None
        row, issued = found[0], [(r["id"], r["code"]) for r in rows]
    else:
        row_issued = _settle_step_by_step(db, order_id, keys, now, lines, reference)
        if row_issued is None:
            return None
        row, lines, issued = row_issued
    customer_id, fixture_id, _hold_id, total, currency, ref, created_at = row
    return _paid_view(
        order_id,
        lines,
        issued,
        now,
        customer_id=customer_id,
        fixture_id=fixture_id,
        total=total,
        currency=currency,
        ref=ref,
        created_at=created_at,
    )


def _settle_step_by_step(
    db: sessionmaker[Session],
    order_id: int,
    keys: KeyRing,
    now: datetime,
    lines: list[dict[str, Any]] | None,
    reference: str,
) -> tuple[Any, list[dict[str, Any]], list[tuple[int, str]]] | None:
    """Settle in a transaction, then sign and insert the tickets in it (SQLite, replays
    and reconciliation): the order's row, its lines and the issued tickets, or None."""
    with write_session(db) as session:
        sql = prepared(session, "orders.settle", _build_settle)
        conn = session.connection()
        params = {"b_order": order_id, "paid_at": now, "settled_at": now, "b_reference": reference}
        if "settle_all" in sql:
            row = conn.execute(sql["settle_all"], params).one_or_none()
            if row is None:
                return None
        else:
            row = conn.execute(sql["order"], params).one_or_none()
            if row is None:
                return None
            conn.execute(sql["claims"], {"b_hold": row[2]})
            conn.execute(sql["payment"], {"b_reference": reference, "settled_at": now})
            conn.execute(
                sql["ledger"],
                {
                    "kind": "payment",
                    "order_id": order_id,
                    "amount": row[3],
                    "currency": row[4],
                    "reference": reference,
                    "at": now,
                },
            )
        customer_id, fixture_id, hold_id = row[0], row[1], row[2]
        if lines is None:
            lines = session.scalar(select(Hold.lines).where(Hold.id == hold_id)) or []
        issued = issue_tickets(
            session,
            keys=keys,
            order_id=order_id,
            fixture_id=fixture_id,
            holder_id=customer_id,
            tickets=[NewTicket(line["id"], line["price"], line["concession"]) for line in lines],
            now=now,
        )
    return row, lines, issued


def _paid_view(
    order_id: int,
    lines: list[dict[str, Any]],
    issued: list[tuple[int, str]],
    now: datetime,
    *,
    customer_id: int,
    fixture_id: int,
    total: int,
    currency: str,
    ref: str,
    created_at: datetime,
) -> OrderView:
    tickets = [
        TicketView(
            id=ticket_id,
            order_ref=ref,
            fixture_id=fixture_id,
            seat=SeatInfo(
                id=line["id"],
                section_id=line["section_id"],
                section=line["section"],
                row=line["row"],
                number=line["number"],
                label=line["label"],
            ),
            holder_id=customer_id,
            price=line["price"],
            concession=line["concession"],
            status="valid",
            version=1,
            code=code,
            issued_at=now,
            used_at=None,
            used_gate=None,
        )
        for line, (ticket_id, code) in zip(lines, issued, strict=True)
    ]
    return OrderView(
        ref=ref,
        status="paid",
        fixture_id=fixture_id,
        total=total,
        currency=currency,
        created_at=created_at,
        paid_at=now,
        tickets=sorted(tickets, key=lambda t: t.seat.id),
    )


def _fail(db: sessionmaker[Session], order_id: int, now: datetime) -> None:
    with write_session(db) as session:
        order = session.execute(
            select(Order).where(Order.id == order_id, Order.status == "pending")
        ).scalar_one_or_none()
        if order is None:
            return
        session.execute(delete(SeatClaim).where(SeatClaim.hold_id == order.hold_id))
        session.execute(update(Hold).where(Hold.id == order.hold_id).values(status="released"))
        session.execute(
            update(Payment)
            .where(Payment.order_id == order_id)
            .values(status="declined", order_id=None, settled_at=now)
        )
        session.execute(delete(Order).where(Order.id == order_id))


def settle_pending_orders(
    db: sessionmaker[Session],
    *,
    provider: PaymentProvider | None = None,
    keys: KeyRing | None = None,
    now: datetime | None = None,
    grace: timedelta = timedelta(minutes=10),
) -> dict[str, list[str]]:
    """Ask the provider about every pending order and settle it; returns refs by outcome.

    Orders the provider never heard of are failed (seats freed) once older than `grace`.
    """
    now = now or utcnow()
    keys = keys or default_keyring()
    with db() as session:
        pending = (
            session.execute(
                select(Order.id, Order.ref, Order.created_at, Payment.reference, Payment.provider)
                .join(Payment, Payment.order_id == Order.id)
                .where(Order.status == "pending", Payment.kind == "order")
                .order_by(Order.id)
            )
            .tuples()
            .all()
        )
    outcome: dict[str, list[str]] = {"paid": [], "declined": [], "unknown": [], "failed": []}
    for order_id, ref, created_at, reference, provider_name in pending:
        chosen = provider or provider_for(provider_name, db)
        result = chosen.status(reference)
        if result is None:
            if now - created_at >= grace:
                _fail(db, order_id, now)
                outcome["failed"].append(ref)
            else:
                outcome["unknown"].append(ref)
            continue
        try:
            _settle(db, order_id, result, keys, now)
            outcome["paid"].append(ref)
        except PaymentDeclined:
            outcome["declined"].append(ref)
    return outcome
