"""Paying for a hold exactly once.

Paying runs in three short steps, each one store operation or one provider call:

1. *Reserve* (`SaleStore.reserve`): record the idempotency key, turn the hold into a
   `pending` order and its claims into `pending` claims that no longer expire.
2. *Charge* the provider with the order's payment reference (idempotent there).
3. *Settle*: captured → tickets signed here, then written with the order marked
   `paid`, its claims sold and its ledger entry (`SaleStore.settle`); declined → order
   deleted, seats freed. A timeout leaves the order `pending`: the same
   Idempotency-Key again, or `reconcile`, asks the provider and settles.

Settling writes only while the order is still `pending`, so however many requests race
to settle, tickets are issued once; the settling process counts the order once in its
metrics (`matchday_orders_total`: paid, declined, pending).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core import metrics
from core.clock import utcnow
from core.db import read_session, retrying, write_session
from ticketing.customers import resolve_customer
from ticketing.errors import (
    HoldAlreadyOrdered,
    HoldExpired,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
    PaymentDeclined,
    PaymentTimeout,
)
from ticketing.keys import KeyRing, default_keyring
from ticketing.models import Hold, IdempotencyKey, Order, Payment, SeatClaim
from ticketing.orders import OrderView, order_prefix, order_view
from ticketing.payments import ChargeResult, PaymentProvider, ProviderTimeout, provider_for
from ticketing.store import HoldUnusable, PaymentStart, Reserved, Settled, Settlement, store_for
from ticketing.tickets import NewTicket, SeatInfo, TicketView, signed_tickets

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class PaymentOutcome:
    """The paid order, and whether this answer replays an earlier request."""

    order: OrderView
    replayed: bool


def check_idempotency_key(key: str) -> str:
    """An Idempotency-Key is 1-255 visible ASCII characters."""
    if not key or len(key) > MAX_KEY_LENGTH or not all(33 <= ord(c) < 127 for c in key):
        raise InvalidRequest(
            "Idempotency-Key must be 1-255 visible ASCII characters", field="Idempotency-Key"
        )
    return key


def _request_hash(customer: str, hold_id: str, method: str, token: str) -> str:
    body = json.dumps([customer, hold_id, method, token], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


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
    start = PaymentStart(
        customer_id=customer_id,
        hold_id=hold_id,
        key=idempotency_key,
        request_hash=request_hash,
        token=token,
        provider=provider.name,
        now=now,
        order_prefix=order_prefix(db),
    )
    store = store_for(db)
    try:
        reserved = retrying(lambda: store.reserve(db, start))
    except HoldUnusable:
        with read_session(db) as session:
            _explain_unusable_hold(session, hold_id, customer_id)
    if reserved is None:
        return _replay(db, customer_id, idempotency_key, request_hash, provider, keys, now)
    try:
        result = provider.charge(reserved.reference, reserved.amount, reserved.currency, token)
    except ProviderTimeout as exc:
        metrics.count_order("pending")
        raise PaymentTimeout(
            f"the payment provider did not answer; order {reserved.ref} is pending "
            "and will be settled (repeat the request with the same Idempotency-Key)",
            order_ref=reserved.ref,
        ) from exc
    order = _settle(db, reserved.order_id, result, keys, now, reserved=reserved)
    return PaymentOutcome(order=order, replayed=False)


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
    reserved: Reserved | None = None,
) -> OrderView:
    if result.status == "declined":
        if _fail(db, order_id, now):
            metrics.count_order("declined")
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
        metrics.count_order("paid")
        return view
    with db() as session:
        order = session.get(Order, order_id)
        assert order is not None
        return order_view(session, order)


@dataclass(frozen=True)
class _Unsettled:
    """What signing a pending order's tickets needs: its fan, fixture and seats."""

    customer_id: int
    fixture_id: int
    lines: list[dict[str, Any]]


def _unsettled(db: sessionmaker[Session], order_id: int) -> _Unsettled | None:
    """A pending order's fan, fixture and hold lines (a replay or a reconciliation)."""
    with read_session(db) as session:
        row = session.execute(
            select(Order.customer_id, Order.fixture_id, Hold.lines)
            .join(Hold, Hold.id == Order.hold_id)
            .where(Order.id == order_id, Order.status == "pending")
        ).one_or_none()
    return _Unsettled(row[0], row[1], row[2] or []) if row is not None else None


def _settle_paid(
    db: sessionmaker[Session],
    order_id: int,
    keys: KeyRing,
    now: datetime,
    reserved: Reserved | None,
    reference: str,
) -> OrderView | None:
    """Sign the tickets of a captured order, then settle it with them in one store
    operation; None if someone else settled it meanwhile."""
    if reserved is not None:
        order = _Unsettled(reserved.customer_id, reserved.fixture_id, reserved.lines)
    else:
        found = _unsettled(db, order_id)
        if found is None:
            return None
        order = found
    rows = signed_tickets(
        keys,
        order_id=order_id,
        fixture_id=order.fixture_id,
        holder_id=order.customer_id,
        tickets=[NewTicket(line["id"], line["price"], line["concession"]) for line in order.lines],
        now=now,
    )
    settled = store_for(db).settle(db, Settlement(order_id, reference, now, rows))
    if settled is None:
        return None
    return _paid_view(order_id, order.lines, [(r["id"], r["code"]) for r in rows], now, settled)


def _paid_view(
    order_id: int,
    lines: list[dict[str, Any]],
    issued: list[tuple[int, str]],
    now: datetime,
    settled: Settled,
) -> OrderView:
    tickets = [
        TicketView(
            id=ticket_id,
            order_ref=settled.ref,
            fixture_id=settled.fixture_id,
            seat=SeatInfo(
                id=line["id"],
                section_id=line["section_id"],
                section=line["section"],
                row=line["row"],
                number=line["number"],
                label=line["label"],
            ),
            holder_id=settled.customer_id,
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
        ref=settled.ref,
        status="paid",
        fixture_id=settled.fixture_id,
        total=settled.total,
        currency=settled.currency,
        created_at=settled.created_at,
        paid_at=now,
        tickets=sorted(tickets, key=lambda t: t.seat.id),
    )


def _fail(db: sessionmaker[Session], order_id: int, now: datetime) -> bool:
    """Delete a pending order and free its seats; False when it was no longer pending."""
    with write_session(db) as session:
        order = session.execute(
            select(Order).where(Order.id == order_id, Order.status == "pending")
        ).scalar_one_or_none()
        if order is None:
            return False
        session.execute(delete(SeatClaim).where(SeatClaim.hold_id == order.hold_id))
        session.execute(update(Hold).where(Hold.id == order.hold_id).values(status="released"))
        session.execute(
            update(Payment)
            .where(Payment.order_id == order_id)
            .values(status="declined", order_id=None, settled_at=now)
        )
        session.execute(delete(Order).where(Order.id == order_id))
    return True


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
