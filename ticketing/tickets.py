"""E-tickets: issuing them with signed codes, revoking them, and showing them to fans."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core.db import table_of
from ticketing.customers import lookup_customer
from ticketing.errors import NotFound
from ticketing.keys import KeyRing
from ticketing.models import Order, Revocation, Seat, Section, Ticket
from ticketing.signing import sign_ticket
from ticketing.venues import seat_label

LIVE = ("valid", "used")
_TICKETS = table_of(Ticket)


@dataclass(frozen=True)
class SeatInfo:
    """Where a ticket sits."""

    id: int
    section_id: int
    section: str
    row: str
    number: int
    label: str


@dataclass(frozen=True)
class TicketView:
    """A ticket as fans and adapters see it."""

    id: int
    order_ref: str
    fixture_id: int
    seat: SeatInfo
    holder_id: int
    price: int
    concession: str
    status: str
    version: int
    code: str
    issued_at: datetime
    used_at: datetime | None
    used_gate: str | None


@dataclass(frozen=True)
class NewTicket:
    """What is needed to issue one ticket."""

    seat_id: int
    price: int
    concession: str
    replaces_id: int | None = None


def _ticket_id() -> int:
    # 53 random bits: unique in practice, and exact in JavaScript's numbers.
    return secrets.randbits(53) or 1


def signed_tickets(
    keys: KeyRing,
    *,
    order_id: int,
    fixture_id: int,
    holder_id: int,
    tickets: Sequence[NewTicket],
    now: datetime,
) -> list[dict[str, Any]]:
    """Rows of new tickets with fresh ids and signed codes, ready to insert."""
    rows: list[dict[str, Any]] = []
    for new in tickets:
        ticket_id = _ticket_id()
        code, kid = sign_ticket(
            keys,
            ticket_id=ticket_id,
            fixture_id=fixture_id,
            seat_id=new.seat_id,
            holder_id=holder_id,
            version=1,
            concession=new.concession,
        )
        rows.append(
            {
                "id": ticket_id,
                "order_id": order_id,
                "fixture_id": fixture_id,
                "seat_id": new.seat_id,
                "holder_id": holder_id,
                "price": new.price,
                "concession": new.concession,
                "status": "valid",
                "version": 1,
                "key_id": kid,
                "code": code,
                "issued_at": now,
                "replaces_id": new.replaces_id,
            }
        )
    return rows


def issue_tickets(
    session: Session,
    *,
    keys: KeyRing,
    order_id: int,
    fixture_id: int,
    holder_id: int,
    tickets: Sequence[NewTicket],
    now: datetime,
) -> list[tuple[int, str]]:
    """Insert tickets with freshly signed codes (caller's transaction); returns (id, code) pairs."""
    rows = signed_tickets(
        keys,
        order_id=order_id,
        fixture_id=fixture_id,
        holder_id=holder_id,
        tickets=tickets,
        now=now,
    )
    session.connection().execute(insert(_TICKETS), rows)  # Core: no ORM bulk-insert overhead
    return [(row["id"], row["code"]) for row in rows]


def revoke_tickets(
    session: Session, tickets: Iterable[Ticket], *, status: str, reason: str, now: datetime
) -> None:
    """Mark tickets refunded/exchanged/transferred/cancelled; revoke their codes."""
    chosen = list(tickets)
    if not chosen:
        return
    session.execute(
        update(Ticket)
        .where(Ticket.id.in_([t.id for t in chosen]))
        .values(status=status, revoked_at=now)
    )
    session.execute(
        insert(Revocation),
        [
            {
                "ticket_id": t.id,
                "version": t.version,
                "fixture_id": t.fixture_id,
                "reason": reason,
                "revoked_at": now,
            }
            for t in chosen
        ],
    )


def _views(session: Session, query: Any) -> list[TicketView]:
    rows = session.execute(
        query.add_columns(Seat, Section.code, Order.ref)
        .join(Seat, Seat.id == Ticket.seat_id)
        .join(Section, Section.id == Seat.section_id)
        .join(Order, Order.id == Ticket.order_id)
    ).all()
    return [
        TicketView(
            id=ticket.id,
            order_ref=ref,
            fixture_id=ticket.fixture_id,
            seat=SeatInfo(
                id=seat.id,
                section_id=seat.section_id,
                section=code,
                row=seat.row,
                number=seat.number,
                label=seat_label(code, seat.row, seat.number),
            ),
            holder_id=ticket.holder_id,
            price=ticket.price,
            concession=ticket.concession,
            status=ticket.status,
            version=ticket.version,
            code=ticket.code,
            issued_at=ticket.issued_at,
            used_at=ticket.used_at,
            used_gate=ticket.used_gate,
        )
        for ticket, seat, code, ref in rows
    ]


def ticket_views(session: Session, ticket_ids: Sequence[int]) -> list[TicketView]:
    """Tickets by id, in the order given."""
    found = {
        v.id: v for v in _views(session, select(Ticket).where(Ticket.id.in_(list(ticket_ids))))
    }
    return [found[i] for i in ticket_ids if i in found]


def order_tickets(session: Session, order_id: int) -> list[TicketView]:
    """Every ticket ever issued in an order (revoked ones included), by seat.

    A ticket passed on to another fan is issued in the recipient's own order, so an
    order never shows a code of someone else's.
    """
    return _views(
        session,
        select(Ticket)
        .where(Ticket.order_id == order_id)
        .order_by(Ticket.seat_id, Ticket.issued_at),
    )


def get_ticket(session: Session, customer: str, ticket_id: int) -> TicketView:
    """The fan's ticket (held by them); anyone else's is `NotFound`."""
    customer_id = lookup_customer(session, customer)
    views = ticket_views(session, [ticket_id]) if isinstance(ticket_id, int) else []
    if not views or customer_id is None or views[0].holder_id != customer_id:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return views[0]


def tickets_of(
    session: Session, customer: str, *, fixture_id: int | None = None, live_only: bool = True
) -> list[TicketView]:
    """Tickets the fan holds (bought or received), optionally for one fixture."""
    customer_id = lookup_customer(session, customer)
    if customer_id is None:
        return []
    query = select(Ticket).where(Ticket.holder_id == customer_id)
    if fixture_id is not None:
        query = query.where(Ticket.fixture_id == fixture_id)
    if live_only:
        query = query.where(Ticket.status.in_(LIVE))
    return _views(session, query.order_by(Ticket.fixture_id, Ticket.seat_id))
