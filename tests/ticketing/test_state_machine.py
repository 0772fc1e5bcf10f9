"""Random sequences of hold, pay, expire, refund, exchange, transfer and gate scans keep the
invariants, on both sale stores (SQLite and PostgreSQL).

Races between fans are `test_stress.py` and the concurrency tests of `test_holds.py`, on
both stores too: threads would make these sequences impossible to replay and shrink.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.support.databases import migrated, postgres_copies
from tests.ticketing.conftest import load_club
from tests.ticketing.helpers import assert_books_balance
from ticketing.errors import TicketingError
from ticketing.exchanges import confirm_exchange, quote_exchange
from ticketing.gate import Scan, check_in_many
from ticketing.holds import create_hold
from ticketing.operations import reconcile
from ticketing.orders import orders_of
from ticketing.paying import pay_order
from ticketing.policies import current_policies
from ticketing.refunds import confirm_refund, quote_refund
from ticketing.transfers import transfer_ticket

FANS = [f"tg:{n}" for n in range(1, 5)]
POLICIES = current_policies().replace(limits={"holds_per_window": 10_000})


def machine_for(folder: Path, new_database: Callable[[Path], str]) -> type[RuleBasedStateMachine]:
    keys = itertools.count()
    examples = itertools.count()
    nonces = itertools.count()

    class Desk(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # A fresh database per example, so that every run can be replayed and shrunk.
            where = folder / f"example-{next(examples)}"
            where.mkdir(parents=True)
            self.club = load_club(new_database(where), where)
            self.now: datetime = self.club.now
            self.holds: list[tuple[str, str]] = []
            self.admitted: set[int] = set()  # tickets the gate let in

        @rule(fan=st.sampled_from(FANS), quantity=st.integers(1, 3), second=st.booleans())
        def hold(self, fan: str, quantity: int, second: bool) -> None:
            fixture = self.club.fixtures[1] if second else self.club.fixture
            try:
                hold = create_hold(
                    self.club.db, fan, fixture, quantity, now=self.now, policies=POLICIES
                )
            except TicketingError:
                return
            self.holds.append((fan, hold.id))

        @rule(
            data=st.data(),
            token=st.sampled_from(["tok_ok", "tok_ok", "tok_decline", "tok_timeout"]),
        )
        def pay(self, data: st.DataObject, token: str) -> None:
            if not self.holds:
                return
            fan, hold_id = data.draw(st.sampled_from(self.holds))
            key = f"sm-{next(keys)}"
            for _attempt in range(data.draw(st.integers(1, 2))):
                with contextlib.suppress(TicketingError):
                    pay_order(
                        self.club.db,
                        fan,
                        hold_id,
                        token=token,
                        idempotency_key=key,
                        keys=self.club.keys,
                        now=self.now,
                    )

        @rule(minutes=st.integers(1, 15))
        def time_passes(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)

        @rule()
        def reconcile(self) -> None:
            report = reconcile(self.club.db, keys=self.club.keys, now=self.now, grace=timedelta(0))
            assert report.problems == {}

        @rule(fan=st.sampled_from(FANS), data=st.data())
        def refund(self, fan: str, data: st.DataObject) -> None:
            with self.club.db() as session:
                orders = orders_of(session, fan)
            if not orders:
                return
            order = data.draw(st.sampled_from(orders))
            tickets = [t.id for t in order.tickets if t.status == "valid"]
            chosen = (
                data.draw(st.lists(st.sampled_from(tickets), unique=True, max_size=3))
                if tickets
                else []
            )
            try:
                quote = quote_refund(self.club.db, fan, order.ref, chosen or None, now=self.now)
                confirm_refund(self.club.db, fan, order.ref, quote.id, now=self.now)
            except TicketingError:
                pass

        @rule(fan=st.sampled_from(FANS), data=st.data())
        def exchange(self, fan: str, data: st.DataObject) -> None:
            with self.club.db() as session:
                orders = [o for o in orders_of(session, fan) if o.status != "pending"]
            if not orders:
                return
            order = data.draw(st.sampled_from(orders))
            tickets = [t.id for t in order.tickets if t.status == "valid"][:2]
            if not tickets:
                return
            target = data.draw(st.sampled_from(self.club.fixtures[:2]))
            try:
                quote = quote_exchange(
                    self.club.db, fan, order.ref, tickets, target, now=self.now, policies=POLICIES
                )
                confirm_exchange(
                    self.club.db, fan, order.ref, quote.id, keys=self.club.keys, now=self.now
                )
            except TicketingError:
                pass

        @rule(fan=st.sampled_from(FANS), to=st.sampled_from(FANS), data=st.data())
        def transfer(self, fan: str, to: str, data: st.DataObject) -> None:
            with self.club.db() as session:
                tickets = [
                    t for o in orders_of(session, fan) for t in o.tickets if t.status == "valid"
                ]
            if not tickets:
                return
            ticket = data.draw(st.sampled_from(tickets))
            with contextlib.suppress(TicketingError):
                transfer_ticket(self.club.db, fan, ticket.id, to, keys=self.club.keys, now=self.now)

        @rule(data=st.data(), gates=st.integers(1, 3))
        def scan(self, data: st.DataObject, gates: int) -> None:
            """A batch of scans at the gate, repeats included: each ticket gets in once."""
            with self.club.db() as session:
                codes = {
                    t.id: t.code
                    for fan in FANS
                    for o in orders_of(session, fan)
                    for t in o.tickets
                    if t.status in ("valid", "used") and t.fixture_id == self.club.fixture
                }
            if not codes:
                return
            chosen = data.draw(st.lists(st.sampled_from(sorted(codes)), min_size=1, max_size=5))
            scans = [
                Scan(codes[t], f"G{n % gates}", nonce=f"n{next(nonces)}")
                for n, t in enumerate(chosen)
            ]
            results = check_in_many(self.club.db, scans, now=self.now, keys=self.club.keys)
            for ticket_id, result in zip(chosen, results, strict=True):
                if result.result == "ok":
                    assert ticket_id not in self.admitted, "a ticket got in twice"
                    self.admitted.add(ticket_id)
                else:
                    assert result.result in ("already_used", "revoked")
                    if result.result == "already_used":
                        assert ticket_id in self.admitted

        @invariant()
        def books_balance(self) -> None:
            assert_books_balance(self.club)

    return Desk


@pytest.fixture(params=["sqlite", "postgres"])
def new_database(request: pytest.FixtureRequest) -> Iterator[Callable[[Path], str]]:
    """A fresh, migrated database per example: an SQLite file, or a PostgreSQL copy of a
    migrated template (the server must be up: unreachable is a failure, never a skip)."""
    if request.param == "sqlite":
        yield lambda where: migrated(f"sqlite:///{where / 'desk.db'}")
        return
    with postgres_copies() as copy:
        yield lambda _where: copy()


def test_random_sequences_keep_the_invariants(
    tmp_path: Path, new_database: Callable[[Path], str]
) -> None:
    run_state_machine_as_test(
        machine_for(tmp_path, new_database),
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
