"""What to notify, turned into outbox rows (each with its dedupe key).

- order confirmations: every paid order, found by scanning recently paid orders
  (`grace` after payment, so a purchase in the chat has stored its replies first);
  a ticket received from another fan is its holder's own order, confirmed to them;
- match-day packs: every fan with a valid ticket, `send_hours_before` kick-off;
- postponements and cancellations: the fans `ticketing.operations` lists.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import literal, select
from sqlalchemy.orm import Session, sessionmaker

from bot.notifications.content import MatchdayPack
from bot.notifications.models import Notice
from bot.notifications.outbox import enqueue
from core.clock import utcnow
from core.db import read_session, write_session
from ticketing.customers import primary_external_id
from ticketing.models import Fixture, Order, Ticket
from ticketing.operations import FixtureChange
from ticketing.policies import current_policies

ORDER_LOOKBACK = timedelta(days=2)  # older orders are not confirmed after a long outage


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M")


def enqueue_order_confirmations(
    sessions: sessionmaker[Session], *, grace: timedelta, now: datetime | None = None
) -> int:
    """Queue a confirmation for every order paid between ORDER_LOOKBACK and `grace` ago."""
    now = now or utcnow()
    with read_session(sessions) as session:
        queued = select(Notice.id).where(Notice.dedupe_key == literal("order:").concat(Order.ref))
        orders = (
            session.execute(
                select(Order.ref, Order.customer_id).where(
                    Order.paid_at.is_not(None),
                    Order.paid_at >= now - ORDER_LOOKBACK,
                    Order.paid_at <= now - grace,
                    ~queued.exists(),  # each round only looks at orders not yet queued
                )
            )
            .tuples()
            .all()
        )
    if not orders:
        return 0
    added = 0
    with write_session(sessions) as session:
        for ref, customer_id in orders:
            customer = primary_external_id(session, customer_id)
            added += enqueue(
                session,
                dedupe_key=f"order:{ref}",
                kind="order_confirmation",
                customer=customer,
                payload={"order_ref": ref},
                now=now,
            )
    return added


def _holders(session: Session, fixture_id: int) -> list[str]:
    ids = session.scalars(
        select(Ticket.holder_id)
        .where(Ticket.fixture_id == fixture_id, Ticket.status == "valid")
        .distinct()
    )
    return sorted({primary_external_id(session, i) for i in ids})


def enqueue_matchday(session: Session, fixture: Fixture, now: datetime | None = None) -> int:
    """Queue the match-day pack for every holder of a valid ticket (once per kick-off)."""
    prefix = f"matchday:{fixture.id}:{_stamp(fixture.kickoff)}:"
    done = set(
        session.scalars(
            select(Notice.dedupe_key).where(Notice.dedupe_key.startswith(prefix, autoescape=True))
        )
    )
    added = 0
    for customer in _holders(session, fixture.id):
        if prefix + customer in done:
            continue
        added += enqueue(
            session,
            dedupe_key=prefix + customer,
            kind="matchday",
            customer=customer,
            payload={"fixture_id": fixture.id},
            now=now,
        )
    return added


def enqueue_due_matchday_packs(
    sessions: sessionmaker[Session], pack: MatchdayPack, *, now: datetime | None = None
) -> int:
    """Queue the packs of fixtures kicking off within `send_hours_before` from now."""
    now = now or utcnow()
    with read_session(sessions) as session:
        due = list(
            session.scalars(
                select(Fixture.id).where(
                    Fixture.status.in_(("scheduled", "postponed")),
                    Fixture.kickoff > now,
                    Fixture.kickoff <= now + timedelta(hours=pack.send_hours_before),
                )
            )
        )
    added = 0
    for fixture_id in due:
        with write_session(sessions) as session:
            fixture = session.get(Fixture, fixture_id)
            assert fixture is not None
            added += enqueue_matchday(session, fixture, now)
    return added


def enqueue_matchday_now(sessions: sessionmaker[Session], fixture_id: int) -> int | None:
    """Queue one fixture's pack now, whatever the time (None: no such fixture)."""
    with write_session(sessions) as session:
        fixture = session.get(Fixture, fixture_id)
        if fixture is None:
            return None
        return enqueue_matchday(session, fixture)


def enqueue_fixture_change(sessions: sessionmaker[Session], change: FixtureChange) -> int:
    """Queue a postponement or cancellation notice for every fan the operation listed."""
    free_days = current_policies().fees.postponed_free_days
    added = 0
    with write_session(sessions) as session:
        for fan in change.fans:
            if change.status == "cancelled":
                key = f"cancelled:{change.fixture_id}:{fan.customer}"
                payload: dict[str, object] = {
                    "fixture_id": change.fixture_id,
                    "tickets": fan.tickets,
                    "refunded": fan.refunded,
                }
            else:
                key = f"postponed:{change.fixture_id}:{_stamp(change.kickoff)}:{fan.customer}"
                payload = {
                    "fixture_id": change.fixture_id,
                    "kickoff": change.kickoff.isoformat(),
                    "tickets": fan.tickets,
                    "free_days": int(free_days),
                }
            added += enqueue(
                session, dedupe_key=key, kind=change.status, customer=fan.customer, payload=payload
            )
    return added
