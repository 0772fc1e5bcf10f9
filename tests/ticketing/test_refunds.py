"""Refunds, the fee formula, exchanges and transfers."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from tests.support.metrics import sample
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import assert_books_balance, buy
from ticketing.errors import (
    AlreadyRefunded,
    NotFound,
    NotRefundable,
    NotTransferable,
    OrderNotPaid,
    PaymentTimeout,
    QuoteExpired,
    TicketUsed,
)
from ticketing.exchanges import confirm_exchange, quote_exchange
from ticketing.fixtures import seat_map
from ticketing.gate import check_in
from ticketing.holds import create_hold
from ticketing.orders import get_order
from ticketing.paying import pay_order
from ticketing.policies import current_policies
from ticketing.refunds import confirm_refund, quote_refund
from ticketing.transfers import quote_transfer, transfer_ticket


def test_refund_quote_follows_the_formula(club: Club) -> None:
    order = buy(club, "tg:1", 2, section="A")  # 2 x ¥380, 2 of 86 seats sold
    quote = quote_refund(club.db, "tg:1", order.ref)
    percent = 5 + Fraction(15) * Fraction(2, 86)
    expected_each = int(38000 * percent / 100 + Fraction(1, 2))
    assert quote.fee == 2 * expected_each
    assert quote.refund_amount == 76000 - quote.fee
    late = quote_refund(club.db, "tg:1", order.ref, now=club.now + timedelta(days=4))
    assert late.fee == 2 * int(38000 * (percent + 5) / 100 + Fraction(1, 2))
    with pytest.raises(NotRefundable):
        quote_refund(club.db, "tg:1", order.ref, now=club.now + timedelta(days=5, hours=-1))


def test_fee_is_capped(lite: Club) -> None:
    policies = current_policies().replace(fees={"base_percent": 20, "late_percent": 10})
    order = buy(lite, "tg:1", 1, section="A")
    quote = quote_refund(
        lite.db, "tg:1", order.ref, now=lite.now + timedelta(days=4), policies=policies
    )
    assert quote.fee == 38000 * 25 // 100


def test_confirmed_refund_revokes_and_frees_the_seat(club: Club) -> None:
    order = buy(club, "tg:1", 2)
    first, second = order.tickets
    quote = quote_refund(club.db, "tg:1", order.ref, [first.id])
    done = confirm_refund(club.db, "tg:1", order.ref, quote.id)
    assert done.status == "partially_refunded" and done.refund_amount == quote.refund_amount
    with club.db() as session:
        statuses = {s.id: s.status for s in seat_map(session, club.fixture, first.seat.section_id)}
    assert statuses[first.seat.id] == "available" and statuses[second.seat.id] == "sold"
    with pytest.raises(QuoteExpired):
        confirm_refund(club.db, "tg:1", order.ref, quote.id)
    with pytest.raises(AlreadyRefunded):
        quote_refund(club.db, "tg:1", order.ref, [first.id])
    rest = quote_refund(club.db, "tg:1", order.ref)
    assert rest.ticket_ids == [second.id]
    assert confirm_refund(club.db, "tg:1", order.ref, rest.id).status == "refunded"
    with pytest.raises(AlreadyRefunded):
        quote_refund(club.db, "tg:1", order.ref)
    assert_books_balance(club)


def test_refund_refusals(lite: Club) -> None:
    order = buy(lite, "tg:1", 2)
    check_in(lite.db, order.tickets[0].code, "A", keys=lite.keys)
    with pytest.raises(TicketUsed):
        quote_refund(lite.db, "tg:1", order.ref, [order.tickets[0].id])
    with pytest.raises(NotFound):
        quote_refund(lite.db, "tg:2", order.ref)
    with pytest.raises(NotFound):
        quote_refund(lite.db, "tg:1", order.ref, [12345])
    quote = quote_refund(lite.db, "tg:1", order.ref, [order.tickets[1].id])
    with pytest.raises(QuoteExpired):
        confirm_refund(lite.db, "tg:1", order.ref, quote.id, now=lite.now + timedelta(minutes=11))
    with pytest.raises(NotFound):
        confirm_refund(lite.db, "tg:1", order.ref, "QNOPE")
    hold = create_hold(lite.db, "tg:3", lite.fixture, 1)
    with pytest.raises(PaymentTimeout) as pending:
        pay_order(lite.db, "tg:3", hold.id, token="tok_timeout", idempotency_key="p")
    assert pending.value.order_ref
    with pytest.raises(OrderNotPaid):
        quote_refund(lite.db, "tg:3", pending.value.order_ref)


def test_ticket_used_while_refund_was_quoted(lite: Club) -> None:
    order = buy(lite, "tg:1", 1)
    quote = quote_refund(lite.db, "tg:1", order.ref)
    check_in(lite.db, order.tickets[0].code, "A", keys=lite.keys)
    with pytest.raises(TicketUsed):
        confirm_refund(lite.db, "tg:1", order.ref, quote.id)
    assert_books_balance(lite)


def test_exchange_to_another_match_with_new_codes(club: Club) -> None:
    order = buy(club, "tg:1", 2, section="B")  # 2 x ¥180 at normal demand
    ids = [t.id for t in order.tickets]
    quote = quote_exchange(club.db, "tg:1", order.ref, ids, club.fixtures[1])
    assert quote.new_total == 2 * 22500  # their usual section B, category 3 at high demand
    assert {s.section for s in quote.seats} == {"B"}
    assert quote.amount_due == quote.new_total - quote.old_total + quote.fee
    done = confirm_exchange(club.db, "tg:1", order.ref, quote.id, keys=club.keys)
    assert done.order.fixture_id == club.fixtures[1] and len(done.order.tickets) == 2
    assert done.amount_charged == quote.amount_due
    for old in order.tickets:
        assert check_in(club.db, old.code, "A", keys=club.keys).result == "revoked"
    with club.db() as session:
        assert get_order(session, "tg:1", order.ref).status == "exchanged"
    assert check_in(club.db, done.order.tickets[0].code, "A", keys=club.keys).result == "ok"
    with pytest.raises(QuoteExpired):
        confirm_exchange(club.db, "tg:1", order.ref, quote.id, keys=club.keys)
    assert_books_balance(club)


def test_cheaper_exchange_pays_money_back(lite: Club) -> None:
    order = buy(lite, "tg:1", 1, section="A")
    quote = quote_exchange(
        lite.db,
        "tg:1",
        order.ref,
        [order.tickets[0].id],
        lite.fixture,
        section_id=lite.sections["B"],
    )
    assert quote.amount_due < 0
    done = confirm_exchange(lite.db, "tg:1", order.ref, quote.id, keys=lite.keys)
    assert done.amount_refunded == -quote.amount_due
    assert_books_balance(lite)


def test_transfer_revokes_and_reissues(club: Club) -> None:
    order = buy(club, "tg:1", 2)
    ticket = order.tickets[0]
    quote = quote_transfer(club.db, "tg:1", ticket.id, "tg:2")
    refund_fee = quote_refund(club.db, "tg:1", order.ref, [ticket.id]).fee
    assert quote.fee == (refund_fee + 1) // 2 or quote.fee == refund_fee // 2
    done = transfer_ticket(club.db, "tg:1", ticket.id, "tg:2", quote_id=quote.id, keys=club.keys)
    assert done.fee == quote.fee and done.ticket.seat.id == ticket.seat.id
    with pytest.raises(NotTransferable):
        transfer_ticket(club.db, "tg:2", done.ticket.id, "tg:3", keys=club.keys)
    with pytest.raises(NotFound):
        transfer_ticket(club.db, "tg:3", order.tickets[1].id, "tg:4", keys=club.keys)
    with pytest.raises(NotFound):  # the recipient's ticket is in the recipient's own order
        quote_refund(club.db, "tg:1", order.ref, [done.ticket.id])
    assert check_in(club.db, ticket.code, "A", keys=club.keys).result == "revoked"
    assert check_in(club.db, done.ticket.code, "A", keys=club.keys).result == "ok"
    assert_books_balance(club)


def test_refunds_are_counted_among_the_orders(lite: Club) -> None:
    before = sample("matchday_orders_total", status="refunded")
    order = buy(lite, "tg:1", 2)
    quote = quote_refund(lite.db, "tg:1", order.ref, [order.tickets[0].id])
    confirm_refund(lite.db, "tg:1", order.ref, quote.id)
    assert sample("matchday_orders_total", status="refunded") == before + 1
