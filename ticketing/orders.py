"""Orders: what fans bought, looked up by reference or by fan.

Paying for a hold is `ticketing.paying`; the statements that write an order are the
sale store's (`ticketing.store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import table_of
from ticketing.club import current_club
from ticketing.customers import lookup_customer
from ticketing.errors import NotFound
from ticketing.ids import new_order_ref
from ticketing.models import Order
from ticketing.tickets import TicketView, order_tickets

_ORDERS = table_of(Order)


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
