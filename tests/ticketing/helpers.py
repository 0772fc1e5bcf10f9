"""Small helpers shared by the engine tests."""

from __future__ import annotations

import itertools

from sqlalchemy import func, select

from tests.ticketing.conftest import Club
from ticketing.holds import create_hold
from ticketing.ledger import book_problems
from ticketing.models import Payment, SandboxCharge
from ticketing.orders import OrderView
from ticketing.paying import pay_order

_keys = itertools.count()


def buy(
    club: Club,
    customer: str,
    quantity: int = 2,
    *,
    fixture_id: int | None = None,
    section: str | None = None,
    seat_ids: list[int] | None = None,
    token: str = "tok_ok",  # noqa: S107 - a sandbox test token
) -> OrderView:
    """Hold and pay in one go."""
    hold = create_hold(
        club.db,
        customer,
        fixture_id or club.fixture,
        None if seat_ids else quantity,
        seat_ids=seat_ids,
        section_id=club.sections[section] if section else None,
    )
    return pay_order(
        club.db,
        customer,
        hold.id,
        token=token,
        idempotency_key=f"key-{next(_keys)}",
        keys=club.keys,
    ).order


def assert_books_balance(club: Club) -> None:
    """No broken invariant, and the sandbox holds exactly what the ledger says."""
    with club.db() as session:
        assert book_problems(session) == {}
        from ticketing.models import LedgerEntry

        ledger_cash = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.kind.in_(("payment", "refund", "transfer_fee"))
            )
        )
        # Money captured for payments still being settled (a lost answer) is not booked yet.
        in_flight = session.scalar(
            select(func.coalesce(func.sum(SandboxCharge.amount), 0))
            .join(Payment, Payment.reference == SandboxCharge.reference)
            .where(SandboxCharge.status == "captured", Payment.status == "started")
        )
        assert club.provider.captured_total(session) == ledger_cash + in_flight


def charges(club: Club) -> int:
    """How many charges the sandbox provider recorded."""
    with club.db() as session:
        return int(session.scalar(select(func.count()).select_from(SandboxCharge)) or 0)
