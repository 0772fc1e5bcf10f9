"""The sale store's contract, on both implementations: what each operation writes, and
what it leaves untouched when it cannot."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import engine_of, make_engine, make_sessionmaker
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.customers import resolve_customer
from ticketing.holds import create_hold
from ticketing.models import Customer, Hold, IdempotencyKey, Order, Seat, SeatClaim, Ticket
from ticketing.orders import order_prefix
from ticketing.store import (
    Admission,
    Admitted,
    HoldUnusable,
    NewHold,
    PaymentStart,
    PostgresStore,
    Reserved,
    SeatRef,
    Settlement,
    SQLiteStore,
    store_for,
)
from ticketing.tickets import NewTicket, signed_tickets


def test_one_store_per_engine_of_the_right_kind(club: Club) -> None:
    store = store_for(club.db)
    expected = PostgresStore if club.url.startswith("postgresql") else SQLiteStore
    assert type(store) is expected
    with club.db() as session:
        assert store_for(session) is store
        assert store_for(session.connection()) is store
    assert store_for(engine_of(club.db)) is store
    other = make_engine(club.url)  # another engine on the same database: its own store
    try:
        assert type(store_for(other)) is expected and store_for(other) is not store
    finally:
        other.dispose()


def _new_hold(club: Club, hold_id: str, seat_ids: list[int], minutes: int = 10) -> NewHold:
    with club.db() as session:
        query = select(Seat.id, Seat.section_id).where(Seat.id.in_(seat_ids))
        sections = {seat: section for seat, section in session.execute(query).tuples()}
    lines = [
        {"id": s, "section_id": sections[s], "section": "A", "row": "1", "number": n,
         "label": f"A-1-{n}", "concession": "adult", "price": 100}
        for n, s in enumerate(seat_ids, 1)
    ]  # fmt: skip
    return NewHold(
        id=hold_id,
        fixture_id=club.fixture,
        kind="purchase",
        seats=[SeatRef(s, sections[s]) for s in seat_ids],
        lines=lines,
        total=100 * len(seat_ids),
        now=club.now,
        expires_at=club.now + timedelta(minutes=minutes),
    )


def _free_seats(club: Club, count: int) -> list[int]:
    with club.db() as session:
        return list(
            session.scalars(
                select(Seat.id).where(Seat.section_id == club.sections["A"]).order_by(Seat.id)
            )
        )[:count]


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_claim_takes_every_seat_or_writes_no_hold(club: Club) -> None:
    store = store_for(club.db)
    first, second, third = _free_seats(club, 3)
    with club.db() as session, session.begin():
        claimed = store.claim_and_hold(
            session, _new_hold(club, "HFIRST", [first, second]), customer_id=None, new_fan="tg:a"
        )
    assert claimed.complete and claimed.seat_ids == [first, second]
    with club.db() as session:
        session.begin()
        late = store.claim_and_hold(
            session, _new_hold(club, "HLATE", [second, third]), customer_id=None, new_fan="tg:b"
        )
        assert not late.complete and second not in late.seat_ids
        assert session.get(Hold, "HLATE") is None  # no hold without every seat
        store.release_claims(session, "HLATE")
        session.commit()
    with club.db() as session:
        query = select(SeatClaim.seat_id, SeatClaim.hold_id)
        owners = {seat: hold for seat, hold in session.execute(query).tuples()}
        assert owners == {first: "HFIRST", second: "HFIRST"}
        assert _count(session, Customer) == 2  # the new fan was made even so


def test_a_claim_takes_over_an_expired_hold(club: Club) -> None:
    store = store_for(club.db)
    seats = _free_seats(club, 2)
    with club.db() as session, session.begin():
        store.claim_and_hold(
            session, _new_hold(club, "HOLD1", seats, minutes=1), customer_id=None, new_fan="tg:a"
        )
    later = _new_hold(club, "HOLD2", seats)
    later = NewHold(**{**later.__dict__, "now": club.now + timedelta(minutes=2)})
    with club.db() as session, session.begin():
        claimed = store.claim_and_hold(session, later, customer_id=None, new_fan="tg:b")
    assert claimed.complete and claimed.seat_ids == seats


def _start(club: Club, hold_id: str, customer_id: int, key: str) -> PaymentStart:
    return PaymentStart(
        customer_id=customer_id,
        hold_id=hold_id,
        key=key,
        request_hash="h",
        token="tok_ok",
        provider="sandbox",
        now=club.now,
        order_prefix=order_prefix(club.db),
    )


def _customer(club: Club, external: str) -> int:
    return resolve_customer(club.db, external)


def test_reserve_once_per_key_and_only_a_live_hold(club: Club) -> None:
    store = store_for(club.db)
    hold = create_hold(club.db, "tg:1", club.fixture, 2, now=club.now)
    fan = _customer(club, "tg:1")
    reserved = store.reserve(club.db, _start(club, hold.id, fan, "k1"))
    assert reserved is not None and reserved.amount == hold.total
    assert [line["id"] for line in reserved.lines] == [s.id for s in hold.seats]
    assert store.reserve(club.db, _start(club, hold.id, fan, "k1")) is None  # a replay
    with pytest.raises(HoldUnusable):  # ordered already, under another key
        store.reserve(club.db, _start(club, hold.id, fan, "k2"))
    with pytest.raises(HoldUnusable):  # not this fan's
        store.reserve(club.db, _start(club, hold.id, _customer(club, "tg:2"), "k3"))
    with club.db() as session:
        keys = set(session.scalars(select(IdempotencyKey.key)))
        assert keys == {"k1"}  # a refused reservation keeps no key
        claims = set(session.scalars(select(SeatClaim.status)))
        assert claims == {"pending"} and _count(session, Order) == 1


def test_reserving_an_expired_hold_writes_nothing(club: Club) -> None:
    store = store_for(club.db)
    hold = create_hold(club.db, "tg:1", club.fixture, 2, now=club.now)
    start = _start(club, hold.id, _customer(club, "tg:1"), "k1")
    late = PaymentStart(**{**start.__dict__, "now": club.now + timedelta(minutes=11)})
    with pytest.raises(HoldUnusable):  # its claims lapsed: paying then explains why
        store.reserve(club.db, late)
    with club.db() as session:
        assert _count(session, IdempotencyKey) == 0 and _count(session, Order) == 0


def _signed(club: Club, reserved: Reserved) -> list[dict[str, Any]]:
    """Fresh ticket rows for a reserved order, signed as paying signs them."""
    return signed_tickets(
        club.keys,
        order_id=reserved.order_id,
        fixture_id=reserved.fixture_id,
        holder_id=reserved.customer_id,
        tickets=[NewTicket(line["id"], line["price"], "adult") for line in reserved.lines],
        now=club.now,
    )


def test_settle_writes_the_tickets_once(club: Club) -> None:
    store = store_for(club.db)
    hold = create_hold(club.db, "tg:1", club.fixture, 2, now=club.now)
    reserved = store.reserve(club.db, _start(club, hold.id, _customer(club, "tg:1"), "k1"))
    assert reserved is not None
    club.provider.charge(reserved.reference, reserved.amount, reserved.currency, "tok_ok")
    rows = _signed(club, reserved)
    settlement = Settlement(reserved.order_id, reserved.reference, club.now, rows)
    settled = store.settle(club.db, settlement)
    assert settled is not None and settled.ref == reserved.ref and settled.total == hold.total
    again = Settlement(reserved.order_id, "x", club.now, _signed(club, reserved))
    assert store.settle(club.db, again) is None
    with club.db() as session:
        assert sorted(session.scalars(select(Ticket.id))) == sorted(r["id"] for r in rows)
        assert set(session.scalars(select(SeatClaim.status))) == {"sold"}


def test_admit_lets_each_ticket_in_once(club: Club) -> None:
    store = store_for(club.db)
    order = buy(club, "tg:1", 2)
    first, second = order.tickets
    admit = [
        Admission(first.id, first.version, first.fixture_id, "G1", "n1"),
        Admission(second.id, second.version + 1, second.fixture_id, "G1", "n2"),  # stale
        Admission(second.id, second.version, club.fixtures[1], "G1", "n3"),  # wrong match
    ]
    with club.db() as session, session.begin():
        assert store.admit(session, admit, club.now) == {first.id: Admitted(first.seat.id, "adult")}
    with club.db() as session, session.begin():
        assert store.admit(session, admit[:1], club.now) == {}  # used already
        ticket = session.get(Ticket, first.id)
        assert ticket is not None and (ticket.used_gate, ticket.checkin_nonce) == ("G1", "n1")


def test_rows_come_back_as_tuples_in_the_callers_transaction(club: Club) -> None:
    store = store_for(club.db)
    statement = select(Customer.id).where(Customer.id > 0)
    with make_sessionmaker(engine_of(club.db))() as session, session.begin():
        fan = store.create_fan(session, "tg:new", club.now)
        assert store.rows(session, statement, {}) == [(fan,)]  # sees its own write
    with club.db() as session:
        assert store.rows(session, statement, {}) == [(fan,)]
