"""Refunds: quote the fee, then confirm; the codes are revoked and the seats go back on sale.

Confirming is one transaction (tickets refunded with a conditional UPDATE,
revocations, seats released, ledger entries, a `pending` refund); the money is
then sent through the provider and the refund marked `settled`. If that call
fails, `reconcile` sends it again (refund references are idempotent).

Money goes back only where it came from: the charge of the order that paid. For
a ticket received from another fan (an order of origin `transfer`) that is the
giver's purchase, so its holder may refund it, and the price less the fee returns
to the giver's payment (`to_original_buyer`); the giver's own copy of the ticket
is `transferred`, so the seat is paid out once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from core import metrics
from core.clock import utcnow
from core.db import rowcount, write_session
from ticketing import ledger
from ticketing.customers import lookup_customer
from ticketing.errors import (
    AlreadyRefunded,
    NotFound,
    NotRefundable,
    OrderNotPaid,
    QuoteExpired,
    TicketUsed,
)
from ticketing.fees import check_change_window, fee_terms
from ticketing.fixtures import get_fixture
from ticketing.ids import new_id
from ticketing.models import Order, Quote, Refund, SeatClaim, Ticket
from ticketing.orders import find_order
from ticketing.payments import PaymentProvider, provider_for
from ticketing.policies import Policies, current_policies
from ticketing.tickets import revoke_tickets


@dataclass(frozen=True)
class RefundQuote:
    """What a refund would cost and return; confirm it before `expires_at`."""

    id: str
    order_ref: str
    ticket_ids: list[int]
    fee: int
    refund_amount: int
    currency: str
    expires_at: datetime
    to_original_buyer: bool  # a received ticket: the money returns to the giver's payment


@dataclass(frozen=True)
class RefundResult:
    """The outcome of a confirmed refund."""

    order_ref: str
    status: str  # refunded / partially_refunded
    ticket_ids: list[int]
    refund_amount: int
    fee: int
    currency: str
    to_original_buyer: bool


def paying_order(session: Session, order: Order) -> Order:
    """The order whose payment paid for `order`'s tickets: the order itself, or for a
    ticket received from another fan the giver's order."""
    if order.source_order_id is None:
        return order
    source = session.get(Order, order.source_order_id)
    assert source is not None
    return source


def changeable_tickets(
    session: Session, order: Order, ticket_ids: list[int] | None, *, lock: bool = False
) -> list[Ticket]:
    """The order's tickets to refund/exchange (all live ones by default), checked one by one.

    Raises `OrderNotPaid`, `NotFound` (not in this order), `TicketUsed`,
    `AlreadyRefunded` and `NotRefundable` (a ticket now held by another fan).
    """
    if order.status == "pending":
        raise OrderNotPaid("this order is not paid yet, so there is nothing to refund")
    query = select(Ticket).where(Ticket.order_id == order.id)
    if ticket_ids is not None:
        query = query.where(Ticket.id.in_(ticket_ids))
    if lock:  # the rows, until the transaction ends (SQLite: its write lock does it)
        query = query.with_for_update()
    tickets = list(session.scalars(query.order_by(Ticket.id)))
    if ticket_ids is None:
        live = [t for t in tickets if t.status in ("valid", "used")]
        if not live:
            raise AlreadyRefunded("this order has no tickets left to refund")
        tickets = live
    else:
        found = {t.id for t in tickets}
        missing = [i for i in ticket_ids if i not in found]
        if missing:
            raise NotFound(f"ticket {missing[0]} is not in this order", field="ticket_ids")
    for ticket in tickets:
        if ticket.status == "used":
            raise TicketUsed(f"ticket {ticket.id} has been used at the gate", field="ticket_ids")
        if ticket.status != "valid":
            raise AlreadyRefunded(
                f"ticket {ticket.id} was {ticket.status} already", field="ticket_ids"
            )
        if ticket.holder_id != order.customer_id:
            raise NotRefundable(
                f"ticket {ticket.id} was transferred to another fan", field="ticket_ids"
            )
    return tickets


def quote_refund(
    db: sessionmaker[Session],
    customer: str,
    order_ref: str,
    ticket_ids: list[int] | None = None,
    *,
    now: datetime | None = None,
    policies: Policies | None = None,
) -> RefundQuote:
    """Quote a refund of the whole order or of `ticket_ids`; nothing changes until confirmed."""
    policies = policies or current_policies()
    now = now or utcnow()
    with write_session(db) as session:
        order = find_order(session, customer, order_ref)
        tickets = changeable_tickets(session, order, ticket_ids)
        fixture = get_fixture(session, order.fixture_id)
        check_change_window(fixture, now, policies)
        terms = fee_terms(session, fixture, now, policies, refund=True)
        fee = sum(terms.fee(t.price) for t in tickets)
        refund_amount = sum(t.price for t in tickets) - fee
        quote = Quote(
            id=new_id("Q"),
            kind="refund",
            order_id=order.id,
            customer_id=order.customer_id,
            ticket_ids=[t.id for t in tickets],
            fee=fee,
            refund_amount=refund_amount,
            created_at=now,
            expires_at=now + timedelta(minutes=policies.fees.quote_minutes),
        )
        session.add(quote)
        return RefundQuote(
            id=quote.id,
            order_ref=order.ref,
            ticket_ids=list(quote.ticket_ids),
            fee=fee,
            refund_amount=refund_amount,
            currency=order.currency,
            expires_at=quote.expires_at,
            to_original_buyer=order.source_order_id is not None,
        )


def take_quote(
    session: Session, quote_id: str, kind: str, order: Order | None, customer_id: int, now: datetime
) -> Quote:
    """Lock and check a quote for confirmation; raises `NotFound` or `QuoteExpired`."""
    quote = (
        session.get(Quote, quote_id, with_for_update=True) if isinstance(quote_id, str) else None
    )
    if (
        quote is None
        or quote.kind != kind
        or quote.customer_id != customer_id
        or (order is not None and quote.order_id != order.id)
    ):
        raise NotFound(f"no {kind} quote {quote_id}", field="quote_id")
    if quote.used_at is not None:
        raise QuoteExpired("this quote has been used already", field="quote_id")
    if quote.expires_at <= now:
        raise QuoteExpired("this quote has expired; ask for a new one", field="quote_id")
    quote.used_at = now
    return quote


def order_status_after(session: Session, order: Order, *, kind: str) -> str:
    """The order's status once some of its tickets were refunded or exchanged."""
    live = session.scalar(
        select(Ticket.id)
        .where(Ticket.order_id == order.id, Ticket.status.in_(("valid", "used")))
        .limit(1)
    )
    if kind == "exchange":
        return "partially_exchanged" if live is not None else "exchanged"
    return "partially_refunded" if live is not None else "refunded"


def release_seats(session: Session, tickets: list[Ticket]) -> None:
    """Put the seats of revoked tickets back on sale."""
    pairs = [(t.fixture_id, t.seat_id) for t in tickets]
    session.execute(
        delete(SeatClaim).where(
            and_(tuple_(SeatClaim.fixture_id, SeatClaim.seat_id).in_(pairs)),
            SeatClaim.status == "sold",
        )
    )


def mark_tickets(session: Session, tickets: list[Ticket], status: str) -> None:
    """Move tickets from `valid` to `status`, or fail if one changed meanwhile (e.g. scanned)."""
    changed = session.execute(
        update(Ticket)
        .where(Ticket.id.in_([t.id for t in tickets]), Ticket.status == "valid")
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != len(tickets):
        raise TicketUsed("a ticket was used or changed meanwhile", field="ticket_ids")


def confirm_refund(
    db: sessionmaker[Session],
    customer: str,
    order_ref: str,
    quote_id: str,
    *,
    provider: PaymentProvider | None = None,
    now: datetime | None = None,
) -> RefundResult:
    """Carry out a quoted refund: tickets revoked, seats released, money returned."""
    now = now or utcnow()
    with write_session(db) as session:
        customer_id = lookup_customer(session, customer)
        order = find_order(session, customer, order_ref)
        assert customer_id is not None
        quote = take_quote(session, quote_id, "refund", order, customer_id, now)
        tickets = changeable_tickets(session, order, list(quote.ticket_ids), lock=True)
        mark_tickets(session, tickets, "refunded")
        revoke_tickets(session, tickets, status="refunded", reason="refund", now=now)
        release_seats(session, tickets)
        reference = f"rf_{quote.id}"
        session.execute(
            insert(Refund).values(
                reference=reference,
                order_id=order.id,
                charge_reference=f"pay_{paying_order(session, order).ref}",
                amount=quote.refund_amount,
                reason="refund",
                status="pending",
                created_at=now,
            )
        )
        ledger.record(
            session,
            kind="refund",
            order_id=order.id,
            amount=-quote.refund_amount,
            currency=order.currency,
            reference=reference,
            at=now,
        )
        if quote.fee:
            ledger.record(
                session,
                kind="fee",
                order_id=order.id,
                amount=quote.fee,
                currency=order.currency,
                reference=reference,
                at=now,
            )
        order.status = order_status_after(session, order, kind="refund")
        result = RefundResult(
            order_ref=order.ref,
            status=order.status,
            ticket_ids=[t.id for t in tickets],
            refund_amount=quote.refund_amount,
            fee=quote.fee,
            currency=order.currency,
            to_original_buyer=order.source_order_id is not None,
        )
    metrics.count_order("refunded")
    send_refunds(db, provider=provider, references=[reference])
    return result


def send_refunds(
    db: sessionmaker[Session],
    *,
    provider: PaymentProvider | None = None,
    references: list[str] | None = None,
) -> int:
    """Send pending refunds to the provider and mark them settled; returns how many."""
    with db() as session:
        query = select(Refund.reference, Refund.charge_reference, Refund.amount).where(
            Refund.status == "pending"
        )
        if references is not None:
            query = query.where(Refund.reference.in_(references))
        pending = session.execute(query.order_by(Refund.id)).tuples().all()
    chosen = provider or provider_for("sandbox", db)
    sent = 0
    for reference, charge_reference, amount in pending:
        if amount > 0:
            chosen.refund(reference, charge_reference, amount)
        with write_session(db) as session:
            session.execute(
                update(Refund)
                .where(Refund.reference == reference)
                .values(status="settled", settled_at=utcnow())
            )
        sent += 1
    return sent
