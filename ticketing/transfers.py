"""Transfers: a fan passes a ticket to another fan; the old code is revoked, a new one issued.

Only the fan who bought a ticket may transfer it (resale goes through the club,
once), until the cut-off before kick-off. The fee is `transfer_share` of the
refund fee, quoted by `quote_transfer()` and charged to the buyer's original
payment method when the transfer is confirmed.

The recipient's ticket lives in a new order of the recipient's own (origin
`transfer`, its own reference, paid, total 0: the recipient paid the club
nothing), so it has its own notices and refund rights, and the seller's order
keeps only the old ticket, `transferred`, with its revoked code. Nothing of the
recipient's ticket is readable through the seller's order.

Money: the seller's payment paid for the seat, and that stays true. The ticket's
price moves with it in the ledger (`moved`: minus on the seller's order, plus on
the new one), so both orders balance and sales count the seat once. The new
order's `source_order_id` names the seller's order: a refund of the received
ticket goes back to the charge that paid for it (the seller's payment, less the
refund fee; the club never took money from the recipient), and the seller's
`transferred` copy cannot be refunded, so a seat is paid out at most once. A
received ticket cannot be exchanged or passed on again (either would need a
payment of the recipient's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import conflict_insert, database_kind, write_session
from ticketing import ledger
from ticketing.club import current_club
from ticketing.customers import check_external_id, lookup_customer, resolve_customer
from ticketing.errors import (
    AlreadyRefunded,
    InvalidRequest,
    NotFound,
    NotTransferable,
    PaymentDeclined,
    PaymentTimeout,
    QuoteExpired,
    TicketingError,
    TicketUsed,
)
from ticketing.fees import check_change_window, fee_terms, transfer_share
from ticketing.fixtures import get_fixture
from ticketing.ids import new_id
from ticketing.keys import KeyRing, default_keyring
from ticketing.models import Order, Payment, Quote, Ticket
from ticketing.orders import free_order_ref
from ticketing.payments import PaymentProvider, ProviderTimeout, provider_for
from ticketing.policies import Policies, current_policies
from ticketing.refunds import mark_tickets, take_quote
from ticketing.tickets import NewTicket, TicketView, issue_tickets, revoke_tickets, ticket_views


@dataclass(frozen=True)
class TransferQuote:
    """The fee for passing a ticket on; confirm before `expires_at`."""

    id: str
    ticket_id: int
    to_customer: str
    fee: int
    currency: str
    expires_at: datetime


@dataclass(frozen=True)
class TransferResult:
    """The recipient's new ticket (in their new order, `ticket.order_ref`) and the fee
    charged. The ticket's code is the recipient's: deliver it to them, never show it to
    the seller."""

    ticket: TicketView
    old_ticket_id: int
    fee: int
    currency: str


def _transferable(
    session: Session, customer_id: int | None, ticket_id: int
) -> tuple[Ticket, Order]:
    ticket = session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None or customer_id is None or ticket.holder_id != customer_id:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    order = session.get(Order, ticket.order_id)
    assert order is not None
    if ticket.status == "used":
        raise TicketUsed("this ticket has been used at the gate")
    if ticket.status != "valid":
        raise AlreadyRefunded(f"this ticket was {ticket.status} already")
    if order.origin == "transfer" or order.customer_id != customer_id:
        raise NotTransferable("a ticket received from another fan cannot be passed on again")
    return ticket, order


def _fee(session: Session, ticket: Ticket, now: datetime, policies: Policies) -> int:
    fixture = get_fixture(session, ticket.fixture_id)
    check_change_window(fixture, now, policies)
    terms = fee_terms(session, fixture, now, policies, refund=False)
    return terms.fee(ticket.price, transfer_share(policies))


def quote_transfer(
    db: sessionmaker[Session],
    customer: str,
    ticket_id: int,
    to_customer: str,
    *,
    now: datetime | None = None,
    policies: Policies | None = None,
) -> TransferQuote:
    """Quote the fee for transferring `ticket_id` to `to_customer` (an external id)."""
    policies = policies or current_policies()
    now = now or utcnow()
    check_external_id(to_customer, "to_customer")
    if to_customer == customer:
        raise InvalidRequest("a ticket cannot be transferred to yourself", field="to_customer")
    recipient_id = resolve_customer(db, to_customer)
    with write_session(db) as session:
        customer_id = lookup_customer(session, customer)
        ticket, order = _transferable(session, customer_id, ticket_id)
        if recipient_id == customer_id:
            raise InvalidRequest("a ticket cannot be transferred to yourself", field="to_customer")
        fee = _fee(session, ticket, now, policies)
        quote = Quote(
            id=new_id("T"),
            kind="transfer",
            order_id=order.id,
            customer_id=order.customer_id,
            ticket_ids=[ticket.id],
            fee=fee,
            charge_amount=fee,
            to_customer_id=recipient_id,
            created_at=now,
            expires_at=now + timedelta(minutes=policies.fees.quote_minutes),
        )
        session.add(quote)
        return TransferQuote(
            id=quote.id,
            ticket_id=ticket.id,
            to_customer=to_customer,
            fee=fee,
            currency=order.currency,
            expires_at=quote.expires_at,
        )


def transfer_ticket(
    db: sessionmaker[Session],
    customer: str,
    ticket_id: int,
    to_customer: str,
    *,
    quote_id: str | None = None,
    provider: PaymentProvider | None = None,
    keys: KeyRing | None = None,
    now: datetime | None = None,
    policies: Policies | None = None,
) -> TransferResult:
    """Transfer a ticket to another fan; the fee is the quote's (`quote_id`) or today's.

    The old code is revoked at once and the recipient gets a new ticket and code.
    """
    policies = policies or current_policies()
    keys = keys or default_keyring()
    now = now or utcnow()
    if quote_id is None:
        quote_id = quote_transfer(
            db, customer, ticket_id, to_customer, now=now, policies=policies
        ).id
    chosen = provider or provider_for("sandbox", db)
    reference = f"trf_{quote_id}"
    fee, source, currency = _prepare(db, customer, ticket_id, to_customer, quote_id, chosen, now)
    if fee > 0:
        # Charged with no transaction open; a charge whose transfer cannot be written
        # is given back at once, one whose answer was lost by `reconcile`.
        try:
            charge = chosen.charge(reference, fee, currency, source)
        except ProviderTimeout as exc:
            raise PaymentTimeout(
                "the payment provider did not answer; the ticket was not transferred"
            ) from exc
        if charge.status != "captured":
            _close_payment(db, reference, now, "declined")
            raise PaymentDeclined(f"the transfer fee was declined ({charge.reason})")
    try:
        return _transfer(db, customer, ticket_id, to_customer, quote_id, keys, now, reference)
    except TicketingError:
        if fee > 0:
            chosen.refund(f"comp_{reference}", reference, fee)
            _close_payment(db, reference, now, "compensated")
        raise


def _prepare(
    db: sessionmaker[Session],
    customer: str,
    ticket_id: int,
    to_customer: str,
    quote_id: str,
    provider: PaymentProvider,
    now: datetime,
) -> tuple[int, str, str]:
    with write_session(db) as session:
        customer_id = lookup_customer(session, customer)
        recipient_id = lookup_customer(session, to_customer)
        ticket, order = _transferable(session, customer_id, ticket_id)
        assert customer_id is not None
        quote = take_quote(session, quote_id, "transfer", order, customer_id, now)
        if quote.ticket_ids != [ticket.id] or quote.to_customer_id != recipient_id:
            raise QuoteExpired("this quote is for another ticket or fan", field="quote_id")
        if quote.fee > 0:
            session.execute(
                conflict_insert(database_kind(session), Payment).values(
                    reference=f"trf_{quote_id}",
                    order_id=order.id,
                    kind="transfer_fee",
                    provider=provider.name,
                    source=order.payment_source,
                    amount=quote.fee,
                    currency=order.currency,
                    status="started",
                    created_at=now,
                )
            )
        return quote.fee, order.payment_source, order.currency


def _close_payment(db: sessionmaker[Session], reference: str, now: datetime, status: str) -> None:
    with write_session(db) as session:
        session.execute(
            update(Payment)
            .where(Payment.reference == reference, Payment.status == "started")
            .values(status=status, settled_at=now)
        )


def _transfer(
    db: sessionmaker[Session],
    customer: str,
    ticket_id: int,
    to_customer: str,
    quote_id: str,
    keys: KeyRing,
    now: datetime,
    reference: str,
) -> TransferResult:
    with write_session(db) as session:
        customer_id = lookup_customer(session, customer)
        recipient_id = lookup_customer(session, to_customer)
        ticket, order = _transferable(session, customer_id, ticket_id)
        quote = session.get(Quote, quote_id)
        assert quote is not None and recipient_id is not None
        mark_tickets(session, [ticket], "transferred")
        revoke_tickets(session, [ticket], status="transferred", reason="transfer", now=now)
        if quote.fee > 0:
            session.execute(
                update(Payment)
                .where(Payment.reference == reference)
                .values(status="captured", settled_at=now)
            )
            ledger.record(
                session,
                kind="transfer_fee",
                order_id=order.id,
                amount=quote.fee,
                currency=order.currency,
                reference=reference,
                at=now,
            )
        received = Order(
            ref=free_order_ref(session, current_club(session).order_prefix),
            customer_id=recipient_id,
            fixture_id=ticket.fixture_id,
            hold_id=quote.id,  # no hold: the quote is what made this order
            status="paid",
            total=0,
            currency=order.currency,
            payment_source="",  # the recipient gave the club no payment
            origin="transfer",
            source_order_id=order.id,
            created_at=now,
            paid_at=now,
        )
        session.add(received)
        session.flush()
        for order_id, amount in ((order.id, -ticket.price), (received.id, ticket.price)):
            ledger.record(
                session,
                kind="moved",
                order_id=order_id,
                amount=amount,
                currency=order.currency,
                reference=reference,
                at=now,
            )
        ((new_id_, _code),) = issue_tickets(
            session,
            keys=keys,
            order_id=received.id,
            fixture_id=ticket.fixture_id,
            holder_id=recipient_id,
            tickets=[NewTicket(ticket.seat_id, ticket.price, ticket.concession, ticket.id)],
            now=now,
        )
        session.flush()
        (view,) = ticket_views(session, [new_id_])
        return TransferResult(
            ticket=view, old_ticket_id=ticket.id, fee=quote.fee, currency=order.currency
        )
