"""Migration 0005: tickets that transfers issued inside the seller's order move into an
order of their holder's own, with their money, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.database import migrate
from core.db import UTCDateTime, engine_for, table_of, write_session
from tests.support.databases import downgrade
from tests.ticketing.conftest import Club, load_club
from ticketing.ids import REF_ALPHABET
from ticketing.ledger import book_problems
from ticketing.models import (
    Customer,
    CustomerIdentity,
    LedgerEntry,
    Order,
    Quote,
    Seat,
    SeatClaim,
    Ticket,
)
from ticketing.orders import get_order, orders_of
from ticketing.refunds import quote_refund

PRICE = 38000

# The orders table as revision 0004 has it (the model has a column more since).
_OLD_ORDERS = sa.table(
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
    sa.column("created_at", UTCDateTime),
    sa.column("paid_at", UTCDateTime),
)


@dataclass(frozen=True)
class OldTransfer:
    """What the engine before 0005 wrote for a transfer: all in the seller's order."""

    seller_ref: str
    seller_order_id: int
    quote_id: str
    old_ticket_id: int
    given_ticket_id: int  # the recipient's ticket, in the seller's order
    given_code: str


def _fan(session: Session, external_id: str, now: datetime) -> int:
    customers = table_of(Customer)
    customer_id = session.scalar(
        sa.insert(customers).values(is_member=False, created_at=now).returning(customers.c.id)
    )
    assert customer_id is not None
    session.execute(
        sa.insert(table_of(CustomerIdentity)).values(
            external_id=external_id, customer_id=customer_id, created_at=now
        )
    )
    return int(customer_id)


def _old_transfer(
    session: Session,
    club: Club,
    *,
    seller: str,
    recipient: str,
    ref: str,
    fixture_id: int,
    cancelled: bool,
) -> OldTransfer:
    """One ticket bought and passed on the old way (then cancelled with its match, or not)."""
    bought, passed_on = club.now - timedelta(hours=2), club.now - timedelta(hours=1)
    seller_id, recipient_id = _fan(session, seller, bought), _fan(session, recipient, bought)
    order_id = session.scalar(
        sa.insert(_OLD_ORDERS)
        .returning(_OLD_ORDERS.c.id)
        .values(
            ref=ref,
            customer_id=seller_id,
            fixture_id=fixture_id,
            hold_id=f"H{ref[3:]}",
            status="refunded" if cancelled else "paid",
            total=PRICE,
            currency="CNY",
            payment_source="tok_ok",
            origin="purchase",
            created_at=bought,
            paid_at=bought,
        )
    )
    assert order_id is not None
    seat_id = session.scalar(
        sa.select(Seat.id)
        .where(Seat.section_id == club.sections["A"])
        .order_by(Seat.id)
        .offset(1 if cancelled else 0)
        .limit(1)
    )
    assert seat_id is not None
    quote_id = f"T{ref[3:]}QUOTE"
    old_id, given_id = (7001, 7002) if cancelled else (8001, 8002)
    common = {"order_id": order_id, "fixture_id": fixture_id, "seat_id": seat_id}
    common |= {"price": PRICE, "concession": "adult", "version": 1, "key_id": "k1"}
    session.execute(
        sa.insert(table_of(Ticket)),
        [
            {
                **common,
                "id": old_id,
                "holder_id": seller_id,
                "status": "transferred",
                "code": f"old-code-{old_id}",
                "issued_at": bought,
                "replaces_id": None,
                "revoked_at": passed_on,
            },
            {
                **common,
                "id": given_id,
                "holder_id": recipient_id,
                "status": "cancelled" if cancelled else "valid",
                "code": f"given-code-{given_id}",
                "issued_at": passed_on,
                "replaces_id": old_id,
                "revoked_at": passed_on if cancelled else None,
            },
        ],
    )
    session.execute(
        sa.insert(table_of(Quote)).values(
            id=quote_id,
            kind="transfer",
            order_id=order_id,
            customer_id=seller_id,
            ticket_ids=[old_id],
            fee=0,
            refund_amount=0,
            charge_amount=0,
            to_customer_id=recipient_id,
            created_at=passed_on,
            expires_at=passed_on + timedelta(minutes=10),
            used_at=passed_on,
        )
    )
    entries = [("payment", PRICE, f"pay_{ref}")]
    if cancelled:
        entries.append(("refund", -PRICE, f"cx_{ref}"))
    else:
        session.execute(
            sa.insert(table_of(SeatClaim)).values(
                fixture_id=fixture_id,
                seat_id=seat_id,
                section_id=club.sections["A"],
                hold_id=f"H{ref[3:]}",
                customer_id=seller_id,
                status="sold",
                expires_at=None,
            )
        )
    session.execute(
        sa.insert(table_of(LedgerEntry)),
        [
            {
                "kind": kind,
                "order_id": order_id,
                "amount": amount,
                "currency": "CNY",
                "reference": reference,
                "at": bought,
            }
            for kind, amount, reference in entries
        ],
    )
    return OldTransfer(ref, int(order_id), quote_id, old_id, given_id, f"given-code-{given_id}")


def test_an_old_transfer_moves_into_a_new_order_of_its_holder(
    empty_url: str, tmp_path: Path
) -> None:
    migrate(empty_url)
    club = load_club(empty_url, tmp_path / "club")  # today's loader, then the 0004 schema
    downgrade(empty_url, "0004")
    with write_session(club.db) as session:
        live = _old_transfer(
            session,
            club,
            seller="tg:seller",
            recipient="tg:friend",
            ref="RA-AAAAAA",
            fixture_id=club.fixtures[0],
            cancelled=False,
        )
        gone = _old_transfer(
            session,
            club,
            seller="tg:seller-2",
            recipient="tg:friend-2",
            ref="RA-BBBBBB",
            fixture_id=club.fixtures[1],
            cancelled=True,
        )
    engine_for(empty_url).dispose()  # no connection keeps plans of the old tables

    migrate(empty_url)

    with club.db() as session:
        seller_order = get_order(session, "tg:seller", live.seller_ref)
        (theirs,) = orders_of(session, "tg:friend")
        new_row = session.scalar(sa.select(Order).where(Order.ref == theirs.ref))
        assert book_problems(session) == {}
        (cancelled,) = orders_of(session, "tg:friend-2")
        assert [t.id for t in get_order(session, "tg:seller-2", gone.seller_ref).tickets] == [
            gone.old_ticket_id
        ]
    assert [(t.id, t.status) for t in seller_order.tickets] == [(live.old_ticket_id, "transferred")]
    assert live.given_code not in {t.code for t in seller_order.tickets}
    assert theirs.ref.startswith("RA-") and theirs.ref != live.seller_ref
    assert set(theirs.ref[3:]) <= set(REF_ALPHABET)
    assert (theirs.origin, theirs.status, theirs.total) == ("transfer", "paid", 0)
    assert [(t.id, t.code) for t in theirs.tickets] == [(live.given_ticket_id, live.given_code)]
    assert new_row is not None
    assert (new_row.source_order_id, new_row.hold_id) == (live.seller_order_id, live.quote_id)
    assert [(t.id, t.status) for t in cancelled.tickets] == [(gone.given_ticket_id, "cancelled")]
    assert cancelled.status == "refunded"

    quote = quote_refund(club.db, "tg:friend", theirs.ref, now=club.now)
    assert quote.ticket_ids == [live.given_ticket_id] and quote.to_original_buyer
