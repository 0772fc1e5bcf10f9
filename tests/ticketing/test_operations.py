"""Postponement, cancellation, reconciliation and the sales report."""

from __future__ import annotations

from datetime import timedelta

from tests.ticketing.conftest import Club
from tests.ticketing.helpers import assert_books_balance, buy
from ticketing.gate import check_in
from ticketing.operations import cancel_fixture, postpone_fixture, reconcile, sales_report
from ticketing.refunds import quote_refund


def test_postponed_tickets_stay_valid_and_refund_free(lite: Club) -> None:
    order = buy(lite, "tg:1", 2)
    change = postpone_fixture(lite.db, lite.fixture, lite.now + timedelta(days=20))
    assert change.status == "postponed" and [f.customer for f in change.fans] == ["tg:1"]
    assert quote_refund(lite.db, "tg:1", order.ref).fee == 0
    assert check_in(lite.db, order.tickets[0].code, "A", keys=lite.keys).result == "ok"


def test_cancellation_refunds_everyone_in_full(club: Club) -> None:
    first, second = buy(club, "tg:1", 2), buy(club, "tg:2", 3)
    change = cancel_fixture(club.db, club.fixture)
    assert change.orders_refunded == 2
    assert change.amount_refunded == first.total + second.total
    assert sorted(f.customer for f in change.fans) == ["tg:1", "tg:2"]
    assert check_in(club.db, first.tickets[0].code, "A", keys=club.keys).result == "revoked"
    assert reconcile(club.db, keys=club.keys).problems == {}
    assert_books_balance(club)


def test_sales_report(lite: Club) -> None:
    buy(lite, "tg:1", 2, section="A")
    with lite.db() as session:
        lines = {line.category: line for line in sales_report(session, lite.fixture)}
    assert lines["cat1"].sold == 2 and lines["cat1"].revenue == 76000
    assert lines["cat1"].available == 18
