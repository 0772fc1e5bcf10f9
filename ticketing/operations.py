"""Club operations: postpone or cancel a fixture, reconcile money and tickets, sales reports.

- `postpone_fixture`: tickets stay valid for the new date; fans holding them are
  listed for notification; for `postponed_free_days` a refund costs no fee.
- `cancel_fixture`: every order is refunded in full (no fee), in one transaction,
  every code revoked; the money goes back through the provider afterwards, to the
  payment that paid for each ticket (for a received ticket, its buyer's).
- `reconcile`: settles payments that timed out, gives back charges whose
  exchange or transfer never completed, resends pending refunds, frees expired
  holds, and reports any broken invariant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import write_session
from ticketing import ledger
from ticketing.customers import primary_external_id
from ticketing.errors import InvalidRequest
from ticketing.fixtures import active_claim, get_fixture
from ticketing.holds import release_expired_holds
from ticketing.keys import KeyRing, default_keyring
from ticketing.models import (
    Customer,
    Fixture,
    FixturePrice,
    Hold,
    LedgerEntry,
    Order,
    Payment,
    Quote,
    Refund,
    Seat,
    SeatClaim,
    Section,
    Ticket,
)
from ticketing.paying import settle_pending_orders
from ticketing.payments import PaymentProvider, provider_for
from ticketing.policies import Policies, current_policies
from ticketing.refunds import paying_order, send_refunds
from ticketing.tickets import revoke_tickets


@dataclass(frozen=True)
class AffectedFan:
    """A fan to notify about a postponed or cancelled fixture."""

    customer: str
    email: str | None
    tickets: int
    refunded: int = 0


@dataclass(frozen=True)
class FixtureChange:
    """What a postponement or cancellation did."""

    fixture_id: int
    status: str
    kickoff: datetime
    fans: list[AffectedFan]
    orders_refunded: int = 0
    amount_refunded: int = 0


def _fans(session: Session, fixture_id: int) -> dict[int, int]:
    rows = session.execute(
        select(Ticket.holder_id, func.count())
        .where(Ticket.fixture_id == fixture_id, Ticket.status.in_(("valid", "used")))
        .group_by(Ticket.holder_id)
    ).tuples()
    return {holder: n for holder, n in rows}


def _describe(
    session: Session, counts: dict[int, int], refunds: dict[int, int]
) -> list[AffectedFan]:
    emails = dict(
        session.execute(
            select(Customer.id, Customer.email).where(Customer.id.in_(list(counts) or [0]))
        )
        .tuples()
        .all()
    )
    return [
        AffectedFan(
            customer=primary_external_id(session, cid),
            email=emails.get(cid),
            tickets=n,
            refunded=refunds.get(cid, 0),
        )
        for cid, n in sorted(counts.items())
    ]


def postpone_fixture(
    db: sessionmaker[Session],
    fixture_id: int,
    new_kickoff: datetime,
    *,
    now: datetime | None = None,
    policies: Policies | None = None,
) -> FixtureChange:
    """Move a fixture to `new_kickoff`; tickets stay valid; returns the fans to notify."""
    policies = policies or current_policies()
    now = now or utcnow()
    if new_kickoff.tzinfo is None:
        raise InvalidRequest("the new kick-off needs a time zone", field="kickoff")
    if new_kickoff <= now:
        raise InvalidRequest("the new kick-off must be in the future", field="kickoff")
    with write_session(db) as session:
        fixture = get_fixture(session, fixture_id)
        if fixture.status == "cancelled":
            raise InvalidRequest("a cancelled fixture cannot be postponed", field="fixture_id")
        fixture.original_kickoff = fixture.original_kickoff or fixture.kickoff
        fixture.kickoff = new_kickoff
        fixture.status = "postponed"
        fixture.status_changed_at = now
        fixture.sale_closes_at = new_kickoff - timedelta(hours=policies.sales.close_hours)
        return FixtureChange(
            fixture_id=fixture.id,
            status=fixture.status,
            kickoff=new_kickoff,
            fans=_describe(session, _fans(session, fixture_id), {}),
        )


def cancel_fixture(
    db: sessionmaker[Session],
    fixture_id: int,
    *,
    provider: PaymentProvider | None = None,
    keys: KeyRing | None = None,
    now: datetime | None = None,
) -> FixtureChange:
    """Cancel a fixture: refund every order in full, revoke every code, free every seat."""
    now = now or utcnow()
    settle_pending_orders(db, provider=provider, keys=keys, now=now, grace=timedelta(0))
    refunded_by_fan: dict[int, int] = defaultdict(int)
    references: list[str] = []
    with write_session(db) as session:
        fixture = get_fixture(session, fixture_id)
        fans = _fans(session, fixture_id)
        fixture.status = "cancelled"
        fixture.status_changed_at = now
        live = list(
            session.scalars(
                select(Ticket).where(
                    Ticket.fixture_id == fixture_id, Ticket.status.in_(("valid", "used"))
                )
            )
        )
        revoke_tickets(session, live, status="cancelled", reason="fixture cancelled", now=now)
        by_order: dict[int, int] = defaultdict(int)
        for ticket in live:
            by_order[ticket.order_id] += ticket.price
        orders = {
            o.id: o
            for o in session.scalars(select(Order).where(Order.id.in_(list(by_order) or [0])))
        }
        refunds: list[dict[str, object]] = []
        entries: list[dict[str, object]] = []
        for order_id, amount in sorted(by_order.items()):
            order = orders[order_id]
            reference = f"cx_{order.ref}"
            references.append(reference)
            paying = paying_order(session, order)  # a received ticket's money goes to its giver
            refunded_by_fan[paying.customer_id] += amount
            refunds.append(
                {
                    "reference": reference,
                    "order_id": order_id,
                    "charge_reference": f"pay_{paying.ref}",
                    "amount": amount,
                    "reason": "fixture cancelled",
                    "status": "pending",
                    "created_at": now,
                }
            )
            entries.append(
                {
                    "kind": "refund",
                    "order_id": order_id,
                    "amount": -amount,
                    "currency": order.currency,
                    "reference": reference,
                    "at": now,
                }
            )
        if refunds:
            session.execute(insert(Refund), refunds)
            session.execute(insert(LedgerEntry), entries)
            session.execute(
                update(Order).where(Order.id.in_(list(by_order))).values(status="refunded")
            )
        session.execute(delete(SeatClaim).where(SeatClaim.fixture_id == fixture_id))
        session.execute(
            update(Hold)
            .where(Hold.fixture_id == fixture_id, Hold.status == "active")
            .values(status="released")
        )
        change = FixtureChange(
            fixture_id=fixture_id,
            status="cancelled",
            kickoff=fixture.kickoff,
            fans=_describe(session, fans, refunded_by_fan),
            orders_refunded=len(refunds),
            amount_refunded=sum(by_order.values()),
        )
    send_refunds(db, provider=provider, references=references)
    return change


@dataclass
class ReconcileReport:
    """What `reconcile` did and found."""

    orders: dict[str, list[str]] = field(default_factory=dict)
    compensated: list[str] = field(default_factory=list)
    refunds_sent: int = 0
    holds_released: int = 0
    problems: dict[str, list[str]] = field(default_factory=dict)


def reconcile(
    db: sessionmaker[Session],
    *,
    provider: PaymentProvider | None = None,
    keys: KeyRing | None = None,
    now: datetime | None = None,
    grace: timedelta = timedelta(minutes=10),
) -> ReconcileReport:
    """Make money and tickets agree again (safe to run at any time, as often as wanted)."""
    now = now or utcnow()
    keys = keys or default_keyring()
    report = ReconcileReport()
    report.orders = settle_pending_orders(db, provider=provider, keys=keys, now=now, grace=grace)
    report.compensated = _compensate(db, provider, now, grace)
    report.refunds_sent = send_refunds(db, provider=provider)
    report.holds_released = release_expired_holds(db, now=now)
    with db() as session:
        report.problems = ledger.book_problems(session)
    return report


def _compensate(
    db: sessionmaker[Session], provider: PaymentProvider | None, now: datetime, grace: timedelta
) -> list[str]:
    """Give back exchange and transfer charges whose transaction never completed."""
    with db() as session:
        started = (
            session.execute(
                select(Payment.reference, Payment.provider, Payment.created_at).where(
                    Payment.status == "started", Payment.kind.in_(("exchange", "transfer_fee"))
                )
            )
            .tuples()
            .all()
        )
    done = []
    for reference, provider_name, created_at in started:
        if now - created_at < grace:
            continue  # may still be in flight
        chosen = provider or provider_for(provider_name, db)
        result = chosen.status(reference)
        if result is not None and result.status == "captured":
            chosen.refund(f"comp_{reference}", reference, result.amount)
            status = "compensated"
            done.append(reference)
        else:
            status = "declined"
        with write_session(db) as session:
            session.execute(
                update(Payment)
                .where(Payment.reference == reference, Payment.status == "started")
                .values(status=status, settled_at=now)
            )
            if reference.startswith("xch_"):  # free the seats the exchange had reserved
                hold_id = session.scalar(select(Quote.hold_id).where(Quote.id == reference[4:]))
                session.execute(
                    delete(SeatClaim).where(
                        SeatClaim.hold_id == hold_id, SeatClaim.status == "pending"
                    )
                )
    return done


@dataclass(frozen=True)
class SalesLine:
    """Sales of one category at one fixture."""

    fixture_id: int
    category: str
    price: int
    capacity: int
    sold: int
    held: int
    available: int
    revenue: int


def sales_report(
    session: Session, fixture_id: int | None = None, *, now: datetime | None = None
) -> list[SalesLine]:
    """Seats sold, held and left, and revenue (live tickets), per fixture and category."""
    now = now or utcnow()
    fixtures = (
        session.scalars(
            select(Fixture).order_by(Fixture.kickoff)
            if fixture_id is None
            else select(Fixture).where(Fixture.id == fixture_id)
        )
        .unique()
        .all()
    )
    lines = []
    for fixture in fixtures:
        capacity = dict(
            session.execute(
                select(Section.category, func.sum(Section.capacity))
                .where(Section.venue_id == fixture.venue_id)
                .group_by(Section.category)
            )
            .tuples()
            .all()
        )
        claims: dict[tuple[str, str], int] = {}
        for category, status, n in session.execute(
            select(Section.category, SeatClaim.status, func.count())
            .join(Section, Section.id == SeatClaim.section_id)
            .where(SeatClaim.fixture_id == fixture.id, active_claim(now))
            .group_by(Section.category, SeatClaim.status)
        ).tuples():
            claims[(category, status)] = n
        revenue = _revenue(session, fixture.id)
        prices = dict(
            session.execute(
                select(FixturePrice.category, FixturePrice.amount).where(
                    FixturePrice.fixture_id == fixture.id
                )
            )
            .tuples()
            .all()
        )
        for category in sorted(capacity):
            sold = claims.get((category, "sold"), 0)
            held = claims.get((category, "held"), 0) + claims.get((category, "pending"), 0)
            total = int(capacity[category])
            lines.append(
                SalesLine(
                    fixture_id=fixture.id,
                    category=category,
                    price=prices.get(category, 0),
                    capacity=total,
                    sold=sold,
                    held=held,
                    available=total - sold - held,
                    revenue=revenue.get(category, 0),
                )
            )
    return lines


def _revenue(session: Session, fixture_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Section.category, func.sum(Ticket.price))
        .join(Seat, Seat.id == Ticket.seat_id)
        .join(Section, Section.id == Seat.section_id)
        .where(Ticket.fixture_id == fixture_id, Ticket.status.in_(("valid", "used")))
        .group_by(Section.category)
    ).tuples()
    return {category: int(total) for category, total in rows}


def prune_keys(
    db: sessionmaker[Session], *, keys: KeyRing | None = None, now: datetime | None = None
) -> list[str]:
    """Stop trusting old public keys whose tickets' fixtures are all over (a day after kick-off)."""
    keys = keys or default_keyring()
    now = now or utcnow()
    with db() as session:
        still_needed = set(
            session.scalars(
                select(Ticket.key_id)
                .join(Fixture, Fixture.id == Ticket.fixture_id)
                .where(Fixture.kickoff > now - timedelta(days=1))
                .distinct()
            )
        )
    return keys.prune(still_needed)
