"""A rush: 200 concurrent buyers race for the same 50 seats, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections import Counter

from sqlalchemy import func, select, text

from tests.ticketing.conftest import Club
from tests.ticketing.helpers import assert_books_balance
from ticketing.errors import PaymentDeclined, SeatUnavailable, SoldOut
from ticketing.holds import create_hold
from ticketing.models import Order, SandboxCharge, Seat, Ticket
from ticketing.paying import pay_order

BUYERS = 200


def test_two_hundred_buyers_fifty_seats(club: Club) -> None:
    section = club.sections["B"]  # 50 seats
    with club.db() as session:
        seat_ids = list(session.scalars(select(Seat.id).where(Seat.section_id == section)))
    assert len(seat_ids) == 50
    start = threading.Barrier(BUYERS)
    outcomes: Counter[str] = Counter()
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def buyer(n: int) -> None:
        rng = random.Random(n)
        customer = f"tg:{1000 + n}"
        start.wait()
        try:
            if n % 3 == 0:
                hold = create_hold(
                    club.db, customer, club.fixture, seat_ids=rng.sample(seat_ids, 2)
                )
            else:
                hold = create_hold(
                    club.db, customer, club.fixture, rng.choice((1, 2)), section_id=section
                )
            token = "tok_decline" if n % 10 == 0 else "tok_ok"
            pay_order(
                club.db, customer, hold.id, token=token, idempotency_key=f"s{n}", keys=club.keys
            )
            outcome = "paid"
        except (SeatUnavailable, SoldOut) as exc:
            outcome = exc.code
        except PaymentDeclined:
            outcome = "declined"
        except BaseException as exc:  # anything else is a bug: collect it
            with lock:
                unexpected.append(exc)
            return
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert sum(outcomes.values()) == BUYERS
    assert outcomes["paid"] >= 10 and outcomes["seat_unavailable"] + outcomes["sold_out"] >= 100
    with club.db() as session:
        sold = session.scalar(
            select(func.count()).where(Ticket.fixture_id == club.fixture, Ticket.status == "valid")
        )
        assert sold is not None and sold <= 50
        twice = session.execute(
            text(
                "SELECT seat_id FROM tickets WHERE status = 'valid' "
                "GROUP BY fixture_id, seat_id HAVING COUNT(*) > 1"
            )
        ).all()
        assert twice == []
        paid_orders = session.scalar(select(func.count()).select_from(Order))
        captured = session.scalar(select(func.count()).where(SandboxCharge.status == "captured"))
        assert paid_orders == captured == outcomes["paid"]
        without_tickets = session.execute(
            text(
                "SELECT o.ref FROM orders o WHERE NOT EXISTS "
                "(SELECT 1 FROM tickets t WHERE t.order_id = o.id)"
            )
        ).all()
        assert without_tickets == []
    assert_books_balance(club)
