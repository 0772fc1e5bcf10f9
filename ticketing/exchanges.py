"""Exchanges: swap tickets for seats at another (or the same) fixture, for the refund fee.

Quoting holds the new seats (so the quote can be honoured) and prices the swap:
`amount_due = new seats - old tickets + fee` (negative: money back). Confirming
is one transaction: the new seats are sold, the old tickets revoked and their
seats released, a new order with new tickets is written, and the difference is
charged to (or refunded on) the original payment method. A ticket received from
another fan has no payment method of its holder's, so it is refunded, not exchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from core import metrics
from core.clock import utcnow
from core.db import conflict_insert, database_kind, rowcount, write_session
from ticketing import ledger
from ticketing.club import current_club
from ticketing.customers import lookup_customer
from ticketing.errors import (
    InvalidRequest,
    NotRefundable,
    PaymentDeclined,
    PaymentTimeout,
    QuoteExpired,
    SeatUnavailable,
    SoldOut,
    TicketingError,
)
from ticketing.fees import check_change_window, fee_terms
from ticketing.fixtures import get_fixture
from ticketing.holds import HeldSeat, check_for_sale, place_hold, seats_by_id, seats_of_choice
from ticketing.ids import new_order_ref
from ticketing.keys import KeyRing, default_keyring
from ticketing.models import Hold, Order, Payment, Quote, Refund, SeatClaim
from ticketing.orders import OrderView, find_order, order_view
from ticketing.payments import PaymentProvider, ProviderTimeout, provider_for
from ticketing.policies import Policies, current_policies
from ticketing.recommendations import choose_seats
from ticketing.refunds import (
    changeable_tickets,
    mark_tickets,
    order_status_after,
    release_seats,
    send_refunds,
    take_quote,
)
from ticketing.risk import check_hold, lock_fan
from ticketing.tickets import NewTicket, issue_tickets, revoke_tickets


@dataclass(frozen=True)
class ExchangeQuote:
    """The priced swap; the new seats are held until `expires_at`."""

    id: str
    order_ref: str
    ticket_ids: list[int]
    fixture_id: int
    seats: list[HeldSeat]
    fee: int
    old_total: int
    new_total: int
    amount_due: int  # > 0 the fan pays, < 0 the fan gets money back
    currency: str
    expires_at: datetime


@dataclass(frozen=True)
class ExchangeResult:
    """The new order and what happened to the money."""

    order: OrderView
    old_order_ref: str
    old_ticket_ids: list[int]
    fee: int
    amount_charged: int
    amount_refunded: int


def quote_exchange(
    db: sessionmaker[Session],
    customer: str,
    order_ref: str,
    ticket_ids: list[int],
    fixture_id: int,
    *,
    section_id: int | None = None,
    seat_ids: list[int] | None = None,
    now: datetime | None = None,
    policies: Policies | None = None,
) -> ExchangeQuote:
    """Hold new seats for `ticket_ids` at `fixture_id` and quote the swap."""
    policies = policies or current_policies()
    now = now or utcnow()
    if not ticket_ids:
        raise InvalidRequest("name the tickets to exchange", field="ticket_ids")
    if seat_ids is not None and len(seat_ids) != len(ticket_ids):
        raise InvalidRequest("give one new seat per ticket", field="seat_ids")
    with write_session(db) as session:
        order = find_order(session, customer, order_ref)
        if order.origin == "transfer":  # the difference would need a payment of their own
            raise NotRefundable(
                "a ticket received from another fan can be refunded but not exchanged",
                field="order_id",
            )
        tickets = changeable_tickets(session, order, list(dict.fromkeys(ticket_ids)))
        old_fixture = get_fixture(session, order.fixture_id)
        check_change_window(old_fixture, now, policies)
        terms = fee_terms(session, old_fixture, now, policies, refund=False)
        fixture = get_fixture(session, fixture_id)
        standing = lock_fan(session, order.customer_id, fixture_id, now, policies)
        check_for_sale(fixture, now, member=standing.is_member)
        credit = len(tickets) if fixture_id == order.fixture_id else 0
        check_hold(standing, len(tickets), now, policies, credit=credit)
        if seat_ids is not None:
            seats = seats_by_id(session, fixture, seat_ids)
        else:
            chosen = choose_seats(
                session,
                fixture,
                len(tickets),
                now=now,
                section_id=section_id,
                customer_id=order.customer_id,
            )
            if chosen is None:
                raise SoldOut(f"not {len(tickets)} seats left for this request")
            seats = seats_of_choice(*chosen)
        hold = place_hold(
            session,
            fixture=fixture,
            customer_id=order.customer_id,
            member=standing.is_member,
            seats=seats,
            concessions=[t.concession for t in tickets],
            now=now,
            policies=policies,
            kind="exchange",
        )
        if hold is None:
            raise SeatUnavailable("a new seat was just taken by someone else")
        fee = sum(terms.fee(t.price) for t in tickets)
        old_total = sum(t.price for t in tickets)
        quote = Quote(
            id=hold.id.replace("H", "X", 1),
            kind="exchange",
            order_id=order.id,
            customer_id=order.customer_id,
            ticket_ids=[t.id for t in tickets],
            fee=fee,
            refund_amount=old_total - fee,
            charge_amount=hold.total - old_total + fee,
            hold_id=hold.id,
            created_at=now,
            expires_at=hold.expires_at,
        )
        session.add(quote)
        return ExchangeQuote(
            id=quote.id,
            order_ref=order.ref,
            ticket_ids=list(quote.ticket_ids),
            fixture_id=fixture_id,
            seats=hold.seats,
            fee=fee,
            old_total=old_total,
            new_total=hold.total,
            amount_due=quote.charge_amount,
            currency=order.currency,
            expires_at=quote.expires_at,
        )


def confirm_exchange(
    db: sessionmaker[Session],
    customer: str,
    order_ref: str,
    quote_id: str,
    *,
    provider: PaymentProvider | None = None,
    keys: KeyRing | None = None,
    now: datetime | None = None,
) -> ExchangeResult:
    """Carry out a quoted exchange; old codes are revoked, new tickets issued.

    Three steps, as for orders: the quote is taken and the new seats stop
    expiring (one transaction); the difference is charged (no transaction open);
    the swap is written (one transaction). A charge whose swap cannot be written
    (a ticket was scanned meanwhile) is given back at once; one whose answer was
    lost is given back by `reconcile`.
    """
    now = now or utcnow()
    keys = keys or default_keyring()
    chosen = provider or provider_for("sandbox", db)
    reference = f"xch_{quote_id}"
    prepared = _prepare(db, customer, order_ref, quote_id, chosen, now, reference)
    if prepared.charge > 0:
        try:
            charge = chosen.charge(reference, prepared.charge, prepared.currency, prepared.source)
        except ProviderTimeout as exc:
            raise PaymentTimeout(
                "the payment provider did not answer; the exchange will be undone and any "
                "charge given back by reconciliation"
            ) from exc
        if charge.status != "captured":
            _undo(db, prepared.hold_id, reference, now, "declined")
            raise PaymentDeclined(f"the payment was declined ({charge.reason})")
    try:
        result = _finish(db, prepared, keys, now, reference)
    except TicketingError:
        if prepared.charge > 0:
            chosen.refund(f"comp_{reference}", reference, prepared.charge)
        _undo(db, prepared.hold_id, reference, now, "compensated")
        raise
    metrics.count_order("exchanged")
    if result.amount_refunded:
        send_refunds(db, provider=chosen, references=[f"xrf_{quote_id}"])
    return result


@dataclass(frozen=True)
class _Prepared:
    quote_id: str
    order_id: int
    hold_id: str
    charge: int
    source: str
    currency: str


def _prepare(
    db: sessionmaker[Session],
    customer: str,
    order_ref: str,
    quote_id: str,
    provider: PaymentProvider,
    now: datetime,
    reference: str,
) -> _Prepared:
    with write_session(db) as session:
        customer_id = lookup_customer(session, customer)
        order = find_order(session, customer, order_ref)  # NotFound for a fan we never saw
        assert customer_id is not None
        quote = take_quote(session, quote_id, "exchange", order, customer_id, now)
        changeable_tickets(session, order, list(quote.ticket_ids))
        hold = session.get(Hold, quote.hold_id)
        assert hold is not None
        moved = session.execute(
            update(SeatClaim)
            .where(
                SeatClaim.hold_id == hold.id,
                SeatClaim.status == "held",
                SeatClaim.expires_at > now,
            )
            .values(status="pending", expires_at=None)
        )
        if rowcount(moved) != hold.quantity:
            raise QuoteExpired("the new seats were released; ask for a new quote")
        if quote.charge_amount > 0:
            session.execute(
                conflict_insert(database_kind(session), Payment).values(
                    reference=reference,
                    order_id=order.id,
                    kind="exchange",
                    provider=provider.name,
                    source=order.payment_source,
                    amount=quote.charge_amount,
                    currency=order.currency,
                    status="started",
                    created_at=now,
                )
            )
        return _Prepared(
            quote_id=quote.id,
            order_id=order.id,
            hold_id=hold.id,
            charge=quote.charge_amount,
            source=order.payment_source,
            currency=order.currency,
        )


def _undo(
    db: sessionmaker[Session], hold_id: str, reference: str, now: datetime, status: str
) -> None:
    """Free the new seats of an exchange that did not happen."""
    with write_session(db) as session:
        session.execute(
            delete(SeatClaim).where(SeatClaim.hold_id == hold_id, SeatClaim.status == "pending")
        )
        session.execute(update(Hold).where(Hold.id == hold_id).values(status="released"))
        session.execute(
            update(Payment)
            .where(Payment.reference == reference, Payment.status == "started")
            .values(status=status, settled_at=now)
        )


def _finish(
    db: sessionmaker[Session], prepared: _Prepared, keys: KeyRing, now: datetime, reference: str
) -> ExchangeResult:
    with write_session(db) as session:
        order = session.get(Order, prepared.order_id)
        quote = session.get(Quote, prepared.quote_id)
        hold = session.get(Hold, prepared.hold_id)
        assert order is not None and quote is not None and hold is not None
        tickets = changeable_tickets(session, order, list(quote.ticket_ids), lock=True)
        mark_tickets(session, tickets, "exchanged")
        revoke_tickets(session, tickets, status="exchanged", reason="exchange", now=now)
        release_seats(session, tickets)
        session.execute(
            update(SeatClaim)
            .where(SeatClaim.hold_id == hold.id, SeatClaim.status == "pending")
            .values(status="sold")
        )
        new_order = Order(
            ref=new_order_ref(current_club(session).order_prefix),
            customer_id=order.customer_id,
            fixture_id=hold.fixture_id,
            hold_id=hold.id,
            status="paid",
            total=hold.total,
            currency=order.currency,
            payment_source=order.payment_source,
            origin="exchange",
            created_at=now,
            paid_at=now,
        )
        session.add(new_order)
        session.flush()
        hold.status = "ordered"
        pairs = list(zip(hold.lines, tickets, strict=True))
        issue_tickets(
            session,
            keys=keys,
            order_id=new_order.id,
            fixture_id=hold.fixture_id,
            holder_id=order.customer_id,
            tickets=[
                NewTicket(line["id"], line["price"], line["concession"], old.id)
                for line, old in pairs
            ],
            now=now,
        )
        for kind, order_id, amount in (
            ("refund", order.id, -quote.refund_amount),
            ("fee", order.id, quote.fee),
            ("payment", new_order.id, hold.total),
        ):
            if amount or kind != "fee":
                ledger.record(
                    session,
                    kind=kind,  # type: ignore[arg-type]
                    order_id=order_id,
                    amount=amount,
                    currency=order.currency,
                    reference=reference,
                    at=now,
                )
        if quote.charge_amount > 0:
            session.execute(
                update(Payment)
                .where(Payment.reference == reference)
                .values(status="captured", order_id=new_order.id, settled_at=now)
            )
        elif quote.charge_amount < 0:
            session.execute(
                insert(Refund).values(
                    reference=f"xrf_{quote.id}",
                    order_id=order.id,
                    charge_reference=f"pay_{order.ref}",
                    amount=-quote.charge_amount,
                    reason="exchange",
                    status="pending",
                    created_at=now,
                )
            )
        order.status = order_status_after(session, order, kind="exchange")
        session.flush()
        return ExchangeResult(
            order=order_view(session, new_order),
            old_order_ref=order.ref,
            old_ticket_ids=[t.id for t in tickets],
            fee=quote.fee,
            amount_charged=max(0, quote.charge_amount),
            amount_refunded=max(0, -quote.charge_amount),
        )


def exchange_quote_of(session: Session, quote_id: str) -> Quote | None:
    """The stored exchange quote (for adapters that show it again)."""
    return session.scalar(select(Quote).where(Quote.id == quote_id, Quote.kind == "exchange"))
