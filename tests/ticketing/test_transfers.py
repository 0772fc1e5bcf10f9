"""A transferred ticket belongs to an order of its new holder's own: the seller's order
shows it only as `transferred`, the recipient can refund it, and the money goes back
once, to the payment that paid for the seat."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.ticketing.conftest import Club
from tests.ticketing.helpers import assert_books_balance, buy
from ticketing.errors import NotFound, NotRefundable, NotTransferable
from ticketing.exchanges import quote_exchange
from ticketing.gate import check_in
from ticketing.models import SandboxRefund
from ticketing.operations import cancel_fixture, sales_report
from ticketing.orders import get_order, orders_of
from ticketing.refunds import confirm_refund, quote_refund
from ticketing.tickets import tickets_of
from ticketing.transfers import TransferResult, transfer_ticket

SELLER, RECIPIENT = "tg:1", "tg:2"


def _buy_two_and_pass_one_on(club: Club) -> tuple[str, int, TransferResult]:
    """The seller's order reference, the ticket they keep, and the transfer."""
    order = buy(club, SELLER, 2, section="A")
    kept, given = order.tickets
    done = transfer_ticket(club.db, SELLER, given.id, RECIPIENT, keys=club.keys)
    return order.ref, kept.id, done


def test_the_sellers_order_shows_the_ticket_as_transferred_without_the_new_code(
    club: Club,
) -> None:
    ref, kept, done = _buy_two_and_pass_one_on(club)
    with club.db() as session:
        seller_order = get_order(session, SELLER, ref)
        seller_tickets = tickets_of(session, SELLER)
    assert done.ticket.id not in {t.id for t in seller_order.tickets}
    assert done.ticket.code not in {t.code for t in seller_order.tickets}
    assert sorted(t.status for t in seller_order.tickets) == ["transferred", "valid"]
    assert [t.id for t in seller_tickets] == [kept]


def test_the_recipients_ticket_is_in_an_order_of_their_own(club: Club) -> None:
    ref, _kept, done = _buy_two_and_pass_one_on(club)
    with club.db() as session:
        (theirs,) = orders_of(session, RECIPIENT)
        with pytest.raises(NotFound):  # the seller cannot read it
            get_order(session, SELLER, theirs.ref)
    assert theirs.ref != ref and re.fullmatch(r"RA-[2-9A-HJ-NP-Z]{6}", theirs.ref)
    assert done.ticket.order_ref == theirs.ref
    assert (theirs.origin, theirs.status, theirs.total) == ("transfer", "paid", 0)
    assert [(t.id, t.code, t.status) for t in theirs.tickets] == [
        (done.ticket.id, done.ticket.code, "valid")
    ]
    assert check_in(club.db, done.ticket.code, "A", keys=club.keys).result == "ok"
    assert_books_balance(club)


def test_the_recipient_refunds_to_the_buyers_payment_and_the_seat_is_paid_out_once(
    club: Club,
) -> None:
    ref, kept, done = _buy_two_and_pass_one_on(club)
    with club.db() as session:
        (theirs,) = orders_of(session, RECIPIENT)
    with pytest.raises(NotFound):  # not in the seller's order any more
        quote_refund(club.db, SELLER, ref, [done.ticket.id])
    with pytest.raises(NotFound):  # nor may the seller refund the recipient's order
        quote_refund(club.db, SELLER, theirs.ref)

    quote = quote_refund(club.db, RECIPIENT, theirs.ref)
    assert quote.ticket_ids == [done.ticket.id] and quote.to_original_buyer
    assert quote.refund_amount == done.ticket.price - quote.fee
    refunded = confirm_refund(club.db, RECIPIENT, theirs.ref, quote.id)
    assert refunded.status == "refunded" and refunded.to_original_buyer
    assert check_in(club.db, done.ticket.code, "A", keys=club.keys).result == "revoked"

    own = quote_refund(club.db, SELLER, ref)
    assert own.ticket_ids == [kept] and not own.to_original_buyer
    confirm_refund(club.db, SELLER, ref, own.id)
    with club.db() as session:
        paid_back = session.execute(
            select(SandboxRefund.charge_reference, SandboxRefund.amount)
        ).all()
    # Both refunds go back to the one charge that paid for the seats, once per seat.
    assert sorted(paid_back) == sorted(
        [(f"pay_{ref}", quote.refund_amount), (f"pay_{ref}", own.refund_amount)]
    )
    assert_books_balance(club)


def test_a_received_ticket_is_neither_passed_on_again_nor_exchanged(club: Club) -> None:
    _ref, _kept, done = _buy_two_and_pass_one_on(club)
    with club.db() as session:
        (theirs,) = orders_of(session, RECIPIENT)
    with pytest.raises(NotTransferable):
        transfer_ticket(club.db, RECIPIENT, done.ticket.id, "tg:3", keys=club.keys)
    with pytest.raises(NotRefundable):
        quote_exchange(club.db, RECIPIENT, theirs.ref, [done.ticket.id], club.fixtures[1])


def test_a_cancelled_match_pays_each_seat_back_once_to_the_buyer(club: Club) -> None:
    ref, _kept, done = _buy_two_and_pass_one_on(club)
    with club.db() as session:
        (theirs,) = orders_of(session, RECIPIENT)
        (line,) = [x for x in sales_report(session, club.fixture) if x.category == "cat1"]
    assert (line.sold, line.revenue) == (2, 2 * done.ticket.price)  # the seat counts once
    change = cancel_fixture(club.db, club.fixture)
    assert change.amount_refunded == 2 * done.ticket.price
    assert {f.customer: f.refunded for f in change.fans} == {
        SELLER: 2 * done.ticket.price,  # all of it goes back to the seller's card
        RECIPIENT: 0,
    }
    with club.db() as session:
        paid_back = session.execute(
            select(SandboxRefund.reference, SandboxRefund.charge_reference)
        ).all()
    assert sorted(paid_back) == sorted(
        [(f"cx_{ref}", f"pay_{ref}"), (f"cx_{theirs.ref}", f"pay_{ref}")]
    )
    assert_books_balance(club)
