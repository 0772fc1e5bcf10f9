"""The ledger: an append-only record of every payment, refund and fee.

Amounts are signed minor units from the club's point of view: a payment is
positive, a refund negative; `fee` and `transfer_fee` entries record what the
club kept or charged. A transfer moves a ticket, and the price paid for it, from
the seller's order to the recipient's new order: a `moved` pair (minus the price
on the order it left, plus the price on the new one) that is no cash and sums to
zero. For every order the books balance when

    payments + refunds + moved + transfer fees = prices of live tickets + fees + transfer fees

where transfer fees are charged on top of the order (so they appear on both sides).
`book_problems()` checks that, and more, with SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from ticketing.models import LedgerEntry

EntryKind = Literal["payment", "refund", "fee", "transfer_fee", "moved"]
LIVE_TICKET = ("valid", "used")


def record(
    session: Session,
    *,
    kind: EntryKind,
    order_id: int,
    amount: int,
    currency: str,
    reference: str,
    at: datetime,
) -> None:
    """Append one entry (inside the caller's transaction)."""
    session.execute(
        insert(LedgerEntry).values(
            kind=kind,
            order_id=order_id,
            amount=amount,
            currency=currency,
            reference=reference,
            at=at,
        )
    )


_PROBLEMS = {
    "seat sold twice": """
        SELECT fixture_id, seat_id FROM tickets WHERE status IN ('valid', 'used')
        GROUP BY fixture_id, seat_id HAVING COUNT(*) > 1""",
    "live ticket without a sold claim": """
        SELECT t.id FROM tickets t LEFT JOIN seat_claims c
          ON c.fixture_id = t.fixture_id AND c.seat_id = t.seat_id AND c.status = 'sold'
        WHERE t.status IN ('valid', 'used') AND c.seat_id IS NULL""",
    "sold claim without a live ticket": """
        SELECT c.fixture_id, c.seat_id FROM seat_claims c LEFT JOIN tickets t
          ON t.fixture_id = c.fixture_id AND t.seat_id = c.seat_id
         AND t.status IN ('valid', 'used')
        WHERE c.status = 'sold' AND t.id IS NULL""",
    "paid order without tickets": """
        SELECT o.ref FROM orders o WHERE o.status <> 'pending'
          AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.order_id = o.id)""",
    "pending order with tickets": """
        SELECT o.ref FROM orders o WHERE o.status = 'pending'
          AND EXISTS (SELECT 1 FROM tickets t WHERE t.order_id = o.id)""",
    "captured payment without a settled order": """
        SELECT p.reference FROM payments p LEFT JOIN orders o ON o.id = p.order_id
        WHERE p.kind = 'order' AND p.status = 'captured'
          AND (o.id IS NULL OR o.status = 'pending')""",
    "order whose books do not balance": """
        SELECT o.ref FROM orders o WHERE o.status <> 'pending' AND
          COALESCE((SELECT SUM(amount) FROM ledger_entries l
                    WHERE l.order_id = o.id AND l.kind IN ('payment', 'refund', 'moved')), 0)
          <> COALESCE((SELECT SUM(price) FROM tickets t
                       WHERE t.order_id = o.id AND t.status IN ('valid', 'used')), 0)
           + COALESCE((SELECT SUM(amount) FROM ledger_entries l
                       WHERE l.order_id = o.id AND l.kind = 'fee'), 0)""",
    "payment captured twice": """
        SELECT order_id FROM ledger_entries WHERE kind = 'payment' AND reference LIKE 'pay_%'
        GROUP BY order_id HAVING COUNT(*) > 1""",
}


def book_problems(session: Session) -> dict[str, list[str]]:
    """Every broken invariant of seats, tickets, orders and money (empty when all is well)."""
    found: dict[str, list[str]] = {}
    for name, sql in _PROBLEMS.items():
        rows = session.execute(text(sql)).all()
        if rows:
            found[name] = [",".join(str(v) for v in row) for row in rows[:20]]
    return found
