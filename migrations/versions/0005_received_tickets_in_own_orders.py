"""a ticket passed on to another fan lives in an order of its holder's own

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:00:00

Transfers used to issue the recipient's ticket inside the seller's order, so the
seller's order showed the recipient's code. Every ticket whose holder is not its
order's customer moves into a new order of its holder, as `ticketing/transfers.py`
now makes them: origin `transfer`, paid, total 0, `source_order_id` naming the
order whose payment paid for the ticket, and (for a live ticket) the price moved
in the ledger by a `moved` pair. A ticket refunded with its cancelled fixture
moves without money: that refund was booked on the seller's order, which still
balances without it.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime
from ticketing.orders import free_order_ref

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables as they are at this revision (the models may have moved on since).
_orders = sa.table(
    "orders",
    sa.column("id", sa.Integer),
    sa.column("ref", sa.String),
    sa.column("customer_id", sa.Integer),
    sa.column("fixture_id", sa.Integer),
    sa.column("hold_id", sa.String),
    sa.column("status", sa.String),
    sa.column("total", sa.Integer),
    sa.column("currency", sa.String),
    sa.column("payment_source", sa.String),
    sa.column("origin", sa.String),
    sa.column("source_order_id", sa.Integer),
    sa.column("created_at", UTCDateTime),
    sa.column("paid_at", UTCDateTime),
)
_tickets = sa.table(
    "tickets",
    sa.column("id", sa.BigInteger),
    sa.column("order_id", sa.Integer),
    sa.column("holder_id", sa.Integer),
    sa.column("price", sa.Integer),
    sa.column("status", sa.String),
    sa.column("replaces_id", sa.BigInteger),
    sa.column("issued_at", UTCDateTime),
)
_quotes = sa.table(
    "quotes",
    sa.column("id", sa.String),
    sa.column("kind", sa.String),
    sa.column("ticket_ids", sa.JSON),
    sa.column("to_customer_id", sa.Integer),
    sa.column("used_at", UTCDateTime),
)
_ledger = sa.table(
    "ledger_entries",
    sa.column("kind", sa.String),
    sa.column("order_id", sa.Integer),
    sa.column("amount", sa.Integer),
    sa.column("currency", sa.String),
    sa.column("reference", sa.String),
    sa.column("at", UTCDateTime),
)


def upgrade() -> None:
    op.add_column("orders", sa.Column("source_order_id", sa.Integer(), nullable=True))
    connection = op.get_bind()
    moving = connection.execute(
        sa.select(
            _tickets.c.id,
            _tickets.c.order_id,
            _tickets.c.holder_id,
            _tickets.c.price,
            _tickets.c.status,
            _tickets.c.replaces_id,
            _tickets.c.issued_at,
            _orders.c.fixture_id,
            _orders.c.currency,
            _orders.c.ref,
        )
        .join_from(_tickets, _orders, _orders.c.id == _tickets.c.order_id)
        .where(_tickets.c.holder_id != _orders.c.customer_id)
        .order_by(_tickets.c.id)
    ).all()
    if not moving:
        return
    # The transfer each ticket came from: the last quote used for its old ticket and
    # holder (an earlier one was used by an attempt whose fee was declined).
    quotes: dict[tuple[int, int], str] = {}
    for quote_id, ticket_ids, to_customer_id in connection.execute(
        sa.select(_quotes.c.id, _quotes.c.ticket_ids, _quotes.c.to_customer_id)
        .where(_quotes.c.kind == "transfer", _quotes.c.used_at.is_not(None))
        .order_by(_quotes.c.used_at)
    ).tuples():
        if len(ticket_ids) == 1 and to_customer_id is not None:
            quotes[(int(ticket_ids[0]), to_customer_id)] = quote_id
    # An order a downgrade emptied is filled again; its money was moved the first time.
    emptied = dict(
        connection.execute(
            sa.select(_orders.c.hold_id, _orders.c.id).where(_orders.c.origin == "transfer")
        )
        .tuples()
        .all()
    )
    for ticket in moving:
        quote_id = quotes.get((ticket.replaces_id, ticket.holder_id))
        hold_id = quote_id or f"T{ticket.id}"
        order_id = emptied.get(hold_id)
        if order_id is not None:
            connection.execute(
                sa.update(_orders)
                .where(_orders.c.id == order_id)
                .values(source_order_id=ticket.order_id)
            )
        else:
            order_id = _received_order(connection, ticket, hold_id, quote_id)
        connection.execute(
            sa.update(_tickets).where(_tickets.c.id == ticket.id).values(order_id=order_id)
        )


def _received_order(
    connection: sa.Connection, ticket: Any, hold_id: str, quote_id: str | None
) -> int:
    """A new order of the ticket's holder; a live ticket's price moves into it."""
    live = ticket.status in ("valid", "used")
    order_id = connection.scalar(
        sa.insert(_orders)
        .returning(_orders.c.id)
        .values(
            # The club's prefix, as the order that paid for the ticket has it.
            ref=free_order_ref(connection, ticket.ref.partition("-")[0]),
            customer_id=ticket.holder_id,
            fixture_id=ticket.fixture_id,
            hold_id=hold_id,
            status="paid" if live else "refunded",
            total=0,
            currency=ticket.currency,
            payment_source="",
            origin="transfer",
            source_order_id=ticket.order_id,
            created_at=ticket.issued_at,
            paid_at=ticket.issued_at,
        )
    )
    assert order_id is not None
    if live:
        reference = f"trf_{quote_id}" if quote_id else f"moved_{ticket.id}"
        connection.execute(
            sa.insert(_ledger),
            [
                {
                    "kind": "moved",
                    "order_id": moved_on,
                    "amount": amount,
                    "currency": ticket.currency,
                    "reference": reference,
                    "at": ticket.issued_at,
                }
                for moved_on, amount in ((ticket.order_id, -ticket.price), (order_id, ticket.price))
            ],
        )
    return int(order_id)


def downgrade() -> None:
    # Received tickets go back into the orders that paid for them. Their own orders stay,
    # empty (the append-only ledger refers to them), to be filled again by an upgrade.
    connection = op.get_bind()
    received = connection.execute(
        sa.select(_orders.c.id, _orders.c.source_order_id).where(
            _orders.c.origin == "transfer", _orders.c.source_order_id.is_not(None)
        )
    ).all()
    for order_id, source_order_id in received:
        connection.execute(
            sa.update(_tickets)
            .where(_tickets.c.order_id == order_id)
            .values(order_id=source_order_id)
        )
    op.drop_column("orders", "source_order_id")
