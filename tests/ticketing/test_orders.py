"""Paying for holds: exactly once, declines, timeouts, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support.metrics import sample
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import assert_books_balance, buy, charges
from ticketing.errors import (
    HoldAlreadyOrdered,
    HoldExpired,
    IdempotencyConflict,
    NotFound,
    PaymentDeclined,
    PaymentTimeout,
)
from ticketing.holds import create_hold
from ticketing.models import IdempotencyKey, Order, Ticket
from ticketing.operations import reconcile
from ticketing.orders import get_order, orders_of
from ticketing.paying import pay_order


def test_paying_issues_signed_tickets(club: Club) -> None:
    order = buy(club, "tg:1", 2)
    assert order.status == "paid"
    assert order.ref.startswith("RA-") and len(order.ref) == 9
    assert len(order.tickets) == 2 and all(len(t.code) > 100 for t in order.tickets)
    assert order.total == sum(t.price for t in order.tickets)
    assert_books_balance(club)


def test_same_idempotency_key_twice_is_one_order_and_one_charge(club: Club) -> None:
    hold = create_hold(club.db, "tg:1", club.fixture, 2)
    first = pay_order(
        club.db, "tg:1", hold.id, token="tok_ok", idempotency_key="abc", keys=club.keys
    )
    again = pay_order(
        club.db, "tg:1", hold.id, token="tok_ok", idempotency_key="abc", keys=club.keys
    )
    assert (first.replayed, again.replayed) == (False, True)
    assert again.order.ref == first.order.ref
    assert [t.code for t in again.order.tickets] == [t.code for t in first.order.tickets]
    assert charges(club) == 1
    with club.db() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
    with pytest.raises(IdempotencyConflict):
        pay_order(club.db, "tg:1", hold.id, token="tok_decline", idempotency_key="abc")
    with pytest.raises(HoldAlreadyOrdered):
        pay_order(club.db, "tg:1", hold.id, token="tok_ok", idempotency_key="other")


def test_declined_payment_leaves_no_order_and_frees_the_hold(club: Club) -> None:
    hold = create_hold(club.db, "tg:1", club.fixture, 2)
    with pytest.raises(PaymentDeclined):
        pay_order(club.db, "tg:1", hold.id, token="tok_decline", idempotency_key="d1")
    with club.db() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
        assert orders_of(session, "tg:1") == []
    create_hold(club.db, "tg:2", club.fixture, seat_ids=[s.id for s in hold.seats])
    with pytest.raises(PaymentDeclined):  # the same key replays the decline
        pay_order(club.db, "tg:1", hold.id, token="tok_decline", idempotency_key="d1")
    assert_books_balance(club)


def test_timeout_stays_pending_until_the_same_key_settles_it(club: Club) -> None:
    hold = create_hold(club.db, "tg:1", club.fixture, 2)
    with pytest.raises(PaymentTimeout) as timed_out:
        pay_order(club.db, "tg:1", hold.id, token="tok_timeout", idempotency_key="t1")
    ref = timed_out.value.order_ref
    assert ref is not None
    with club.db() as session:
        pending = get_order(session, "tg:1", ref)
    assert pending.status == "pending" and pending.tickets == []
    # The pending seats do not expire with the hold.
    with pytest.raises(Exception, match="taken"):
        create_hold(
            club.db,
            "tg:2",
            club.fixture,
            seat_ids=[s.id for s in hold.seats],
            now=club.now + timedelta(minutes=30),
        )
    settled = pay_order(
        club.db, "tg:1", hold.id, token="tok_timeout", idempotency_key="t1", keys=club.keys
    )
    assert settled.replayed and settled.order.status == "paid" and len(settled.order.tickets) == 2
    assert charges(club) == 1
    assert_books_balance(club)


def test_reconcile_settles_timed_out_payments(club: Club) -> None:
    hold = create_hold(club.db, "tg:1", club.fixture, 1)
    with pytest.raises(PaymentTimeout):
        pay_order(club.db, "tg:1", hold.id, token="tok_timeout", idempotency_key="t2")
    report = reconcile(club.db, keys=club.keys)
    assert len(report.orders["paid"]) == 1 and report.problems == {}
    with club.db() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert reconcile(club.db, keys=club.keys).orders["paid"] == []


def test_expired_and_foreign_holds_cannot_be_paid_and_leave_nothing(club: Club) -> None:
    hold = create_hold(club.db, "tg:1", club.fixture, 1)
    with pytest.raises(NotFound):
        pay_order(club.db, "tg:2", hold.id, token="tok_ok", idempotency_key="f1")
    with pytest.raises(NotFound):
        pay_order(club.db, "tg:1", "HUNKNOWN", token="tok_ok", idempotency_key="f2")
    with pytest.raises(HoldExpired):
        pay_order(
            club.db,
            "tg:1",
            hold.id,
            token="tok_ok",
            idempotency_key="f3",
            now=club.now + timedelta(minutes=11),
        )
    assert charges(club) == 0
    with club.db() as session:  # no key, order or payment was kept from those attempts
        assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
        assert session.scalar(select(func.count()).select_from(Order)) == 0
    # So a refused key is free for the fan's real payment.
    paid = pay_order(club.db, "tg:1", hold.id, token="tok_ok", idempotency_key="f3")
    assert paid.order.status == "paid" and not paid.replayed


def test_an_order_reference_already_taken_is_drawn_again(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ticketing.orders

    first = buy(club, "tg:1", 1)
    fresh = ticketing.orders.new_order_ref
    drawn = iter([first.ref, first.ref])  # the next two draws collide with the first order
    monkeypatch.setattr(
        ticketing.orders, "new_order_ref", lambda prefix: next(drawn, None) or fresh(prefix)
    )
    hold = create_hold(club.db, "tg:2", club.fixture, 1)
    paid = pay_order(club.db, "tg:2", hold.id, token="tok_ok", idempotency_key="r1")
    assert paid.order.ref != first.ref and paid.order.status == "paid"
    again = pay_order(club.db, "tg:2", hold.id, token="tok_ok", idempotency_key="r1")
    assert again.replayed and again.order.ref == paid.order.ref
    assert charges(club) == 2
    assert_books_balance(club)


def test_orders_of_lists_the_fans_orders(lite: Club) -> None:
    first = buy(lite, "tg:1", 1)
    second = buy(lite, "tg:1", 2)
    buy(lite, "tg:2", 1)
    with lite.db() as session:
        refs = [o.ref for o in orders_of(session, "tg:1")]
        assert set(refs) == {first.ref, second.ref}
        with pytest.raises(NotFound):
            get_order(session, "tg:2", first.ref)
        assert orders_of(session, "tg:404") == []


def test_orders_are_counted_once_by_what_became_of_them(lite: Club) -> None:
    statuses = ("paid", "declined", "pending")
    before = {status: sample("matchday_orders_total", status=status) for status in statuses}
    buy(lite, "tg:1", 1)
    with pytest.raises(PaymentDeclined):
        buy(lite, "tg:2", 1, token="tok_decline")
    hold = create_hold(lite.db, "tg:3", lite.fixture, 1)
    with pytest.raises(PaymentTimeout):
        pay_order(lite.db, "tg:3", hold.id, token="tok_timeout", idempotency_key="late")
    pay_order(lite.db, "tg:3", hold.id, token="tok_timeout", idempotency_key="late", keys=lite.keys)
    pay_order(lite.db, "tg:3", hold.id, token="tok_timeout", idempotency_key="late", keys=lite.keys)
    after = {status: sample("matchday_orders_total", status=status) for status in statuses}
    # The timed-out order: pending once, then paid once however often it is replayed.
    assert {k: after[k] - before[k] for k in statuses} == {"paid": 2, "declined": 1, "pending": 1}
