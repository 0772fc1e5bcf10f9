"""Holds: seats reserved for a fan while they pay (10 minutes by default).

A hold claims its seats with one atomic upsert into `seat_claims`: a seat is
taken only if nobody claims it or the previous claim's hold has expired. When
fewer rows come back than were asked for, the fan hears `seat_unavailable`
(specific seats; the transaction rolls back), or, best available, the engine
gives back what it claimed and tries the next block it read in the same
transaction, then reads seats again in a new one, before answering `sold_out`.
Expired holds need no sweeper to free their seats; `release_expired_holds()`
only tidies up. The claim itself is the sale store's (`ticketing.store`); the rules
before it (sale windows, the fan's cap and rate, prices and concessions, which seats
to try) are here, once for every database. Each hold asked for is counted in the
process's metrics by outcome (`matchday_holds_total`: created, released, or the
refusal's code).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core import metrics
from core.clock import utcnow
from core.db import autocommit_session, retrying, rowcount, table_of, write_session
from ticketing.customers import (
    check_external_id,
    known_customer,
    lookup_customer,
    remember_customer,
)
from ticketing.errors import (
    HoldExpired,
    InvalidQuantity,
    InvalidRequest,
    NotFound,
    PurchaseLimitReached,
    RateLimited,
    SaleClosed,
    SeatUnavailable,
    SoldOut,
    TicketingError,
)
from ticketing.fixtures import (
    FixtureRow,
    fixture_row,
    get_fixture,
    prices_of,
    recent_fixture_row,
    sale_state,
)
from ticketing.ids import new_id
from ticketing.models import CustomerIdentity, Fixture, Hold, Seat, SeatClaim, Section
from ticketing.policies import Policies, current_policies
from ticketing.pricing import check_concessions, ticket_price
from ticketing.recommendations import FreeSeat, SectionChoice, choose_seat_options
from ticketing.risk import (
    NO_SOURCE,
    FanStanding,
    HoldSource,
    check_hold,
    check_source,
    lock_fan,
    record_refusal,
    record_source,
)
from ticketing.store import NewHold, SaleChanged, SeatRef, store_for
from ticketing.venues import seat_label

_SPREADS = (8, 32, 256, 1024, 1024, 1024)  # how widely best-available retries look
_COUNTED = (PurchaseLimitReached, RateLimited, SoldOut, SeatUnavailable, SaleClosed)


@dataclass(frozen=True)
class HeldSeat:
    """A seat in a hold (or an order) with its concession and price."""

    id: int
    section_id: int
    section: str
    row: str
    number: int
    label: str
    concession: str
    price: int


@dataclass(frozen=True)
class HoldView:
    """A hold as fans and adapters see it."""

    id: str
    fixture_id: int
    status: str
    seats: list[HeldSeat]
    total: int
    currency: str
    created_at: datetime
    expires_at: datetime


def _view(hold: Hold | Any, currency: str) -> HoldView:
    return HoldView(
        id=hold.id,
        fixture_id=hold.fixture_id,
        status=hold.status,
        seats=[HeldSeat(**line) for line in hold.lines],
        total=hold.total,
        currency=currency,
        created_at=hold.created_at,
        expires_at=hold.expires_at,
    )


@dataclass(frozen=True)
class SeatRow:
    """A seat with its section, ready to hold."""

    id: int
    section_id: int
    section: str
    category: str
    row: str
    number: int


def seats_by_id(
    session: Session, fixture: Fixture | FixtureRow, seat_ids: list[int]
) -> list[SeatRow]:
    """The seats `seat_ids`, in that order; `NotFound` if one is not at the fixture's ground."""
    rows = session.execute(
        select(
            Seat.id,
            Seat.section_id,
            Section.code,
            Section.category,
            Seat.row,
            Seat.number,
            Section.venue_id,
        )
        .join(Section, Section.id == Seat.section_id)
        .where(Seat.id.in_(seat_ids))
    ).tuples()
    found = {row[0]: SeatRow(*row[:6]) for row in rows if row[6] == fixture.venue_id}
    missing = [sid for sid in seat_ids if sid not in found]
    if missing:
        raise NotFound(f"no seat {missing[0]} at this fixture's ground", field="seat_ids")
    return [found[sid] for sid in seat_ids]


def seats_of_choice(choice: SectionChoice, seats: list[FreeSeat]) -> list[SeatRow]:
    """The seats picked by `choose_seats`, ready to hold."""
    return [SeatRow(s.id, choice.id, choice.code, choice.category, s.row, s.number) for s in seats]


def check_for_sale(fixture: Fixture | FixtureRow, now: datetime, *, member: bool) -> None:
    """Refuse holds on a fixture that is not on sale for this fan now."""
    state = sale_state(fixture, now)
    if state == "on_sale" or (state == "presale" and member):
        return
    reasons = {
        "cancelled": "this match has been cancelled",
        "closed": "online sales for this match have closed",
        "presale": "this match is in the members' presale; general sale opens later",
        "not_yet": "tickets for this match are not on sale yet",
    }
    raise SaleClosed(reasons[state], field="fixture_id")


def _priced(
    session: Session,
    *,
    fixture: Fixture | FixtureRow,
    member: bool,
    seats: list[SeatRow],
    concessions: list[str],
    now: datetime,
    policies: Policies,
    kind: str,
) -> tuple[NewHold, HoldView]:
    """The hold to write for `seats` at today's prices, and how the fan will see it."""
    prices = prices_of(session, fixture.id)
    lines: list[dict[str, Any]] = []
    for seat, concession in zip(seats, concessions, strict=True):
        price = ticket_price(
            prices[seat.category], seat.category, concession, member=member, policies=policies
        )
        lines.append(
            {
                "id": seat.id,
                "section_id": seat.section_id,
                "section": seat.section,
                "row": seat.row,
                "number": seat.number,
                "label": seat_label(seat.section, seat.row, seat.number),
                "concession": concession,
                "price": price,
            }
        )
    hold = NewHold(
        id=new_id("H"),
        fixture_id=fixture.id,
        kind=kind,
        seats=[SeatRef(s.id, s.section_id) for s in seats],
        lines=lines,
        total=sum(line["price"] for line in lines),
        now=now,
        expires_at=now + timedelta(minutes=policies.holds.minutes),
    )
    view = HoldView(
        id=hold.id,
        fixture_id=fixture.id,
        status="active",
        seats=[HeldSeat(**line) for line in lines],
        total=hold.total,
        currency=fixture.currency,
        created_at=now,
        expires_at=hold.expires_at,
    )
    return hold, view


def place_hold(
    session: Session,
    *,
    fixture: Fixture | FixtureRow,
    customer_id: int,
    member: bool,
    seats: list[SeatRow],
    concessions: list[str],
    now: datetime,
    policies: Policies,
    kind: str = "purchase",
) -> HoldView | None:
    """Price and claim `seats` for a new hold; None when a seat was taken meanwhile.

    The caller owns the transaction and must roll back on None.
    """
    hold, view = _priced(
        session,
        fixture=fixture,
        member=member,
        seats=seats,
        concessions=concessions,
        now=now,
        policies=policies,
        kind=kind,
    )
    claimed = store_for(session).claim_and_hold(
        session, hold, customer_id=customer_id, new_fan=None
    )
    return view if claimed.complete else None


def check_quantity(
    quantity: int | None, seat_ids: list[int] | None, policies: Policies
) -> tuple[int, list[int] | None]:
    """Validate the requested quantity (and seat ids); returns the quantity to hold."""
    if seat_ids is not None:
        if len(set(seat_ids)) != len(seat_ids):
            raise InvalidRequest("seat_ids must not repeat a seat", field="seat_ids")
        if quantity is None:
            quantity = len(seat_ids)
        elif quantity != len(seat_ids):
            raise InvalidQuantity("quantity must equal the number of seat_ids", field="quantity")
    if quantity is None:
        raise InvalidQuantity("give a quantity or seat_ids", field="quantity")
    maximum = policies.limits.per_order
    if isinstance(quantity, bool) or not 1 <= quantity <= maximum:
        raise InvalidQuantity(f"quantity must be between 1 and {maximum}", field="quantity")
    return quantity, seat_ids


def create_hold(
    db: sessionmaker[Session],
    customer: str,
    fixture_id: int,
    quantity: int | None = None,
    *,
    section_id: int | None = None,
    seat_ids: list[int] | None = None,
    category: str | None = None,
    concessions: list[str] | None = None,
    now: datetime | None = None,
    policies: Policies | None = None,
    source: HoldSource = NO_SOURCE,
) -> HoldView:
    """Hold seats for `customer` (an external id) at a fixture while they pay.

    Either `seat_ids` (those exact seats) or `quantity` (the best available adjacent
    seats, optionally within `section_id` or `category`). `concessions` gives one
    concession per seat (default adult). `source` says where the request came from
    (address, page origin, API key): the budgets of `policies.budgets` count by it.
    Raises `InvalidQuantity`, `NotFound`, `SaleClosed`, `RateLimited` (or its
    `BudgetExceeded`), `PurchaseLimitReached`, `SeatUnavailable`, `SoldOut`.
    """
    policies = policies or current_policies()
    quantity, seat_ids = check_quantity(quantity, seat_ids, policies)
    concessions = concessions or ["adult"] * quantity
    if len(concessions) != quantity:
        raise InvalidRequest("give one concession per seat", field="concessions")
    check_concessions(concessions, policies)
    check_external_id(customer)
    now = now or utcnow()
    try:
        view = retrying(
            lambda: _hold(
                db,
                customer,
                fixture_id,
                quantity,
                section_id=section_id,
                seat_ids=seat_ids,
                category=category,
                concessions=concessions,
                now=now,
                policies=policies,
                source=source,
            )
        )
    except _COUNTED as exc:
        metrics.count_hold(exc.code)
        record_refusal(db, fixture_id, exc.code, now)
        raise
    except TicketingError as exc:
        metrics.count_hold(exc.code)
        raise
    metrics.count_hold("created")
    return view


@cache
def _fixture_and_fan() -> Select[Any]:
    fixtures, identities = table_of(Fixture), table_of(CustomerIdentity)
    fan = (
        select(identities.c.customer_id)
        .where(identities.c.external_id == bindparam("b_external"))
        .scalar_subquery()
    )
    return select(
        fixtures.c.id,
        fixtures.c.venue_id,
        fixtures.c.status,
        fixtures.c.kickoff,
        fixtures.c.presale_opens_at,
        fixtures.c.general_sale_opens_at,
        fixtures.c.sale_closes_at,
        fixtures.c.currency,
        fan,
    ).where(fixtures.c.id == bindparam("b_fixture"))


def fixture_and_fan(
    session: Session, fixture_id: int, customer: str
) -> tuple[FixtureRow, int | None]:
    """The selling columns of a fixture and the fan's id if known, in one query."""
    rows = store_for(session).rows(
        session, _fixture_and_fan(), {"b_fixture": fixture_id, "b_external": customer}
    )
    row = rows[0] if rows else None
    if row is None:
        raise NotFound(f"no fixture {fixture_id}", field="fixture_id")
    return FixtureRow(*row[:8]), row[8]


_NEW_FAN = FanStanding(
    is_member=False, seats_claimed=0, holds_in_window=0, oldest_hold_in_window=None
)


def _hold(
    db: sessionmaker[Session],
    customer: str,
    fixture_id: int,
    quantity: int,
    *,
    section_id: int | None,
    seat_ids: list[int] | None,
    category: str | None,
    concessions: list[str],
    now: datetime,
    policies: Policies,
    source: HoldSource,
) -> HoldView:
    request = _Request(
        customer, fixture_id, quantity, section_id, seat_ids, category, concessions, source
    )
    for spread in _SPREADS if seat_ids is None else (1,):
        try:
            view, customer_id = _attempt(db, request, spread, now, policies)
        except IntegrityError:
            # The fan's first two requests raced to create them (the identity's primary
            # key let one win): now they exist, so this attempt finds and locks them.
            view, customer_id = _attempt(db, request, spread, now, policies)
        if view is not None and customer_id is not None:
            remember_customer(db, customer, customer_id)
            return view
        if seat_ids is not None:
            raise SeatUnavailable(
                "one or more of these seats were just taken by someone else", seat_ids
            )
    raise SoldOut("the seats went to other fans while we looked; try again", field="quantity")


@dataclass(frozen=True)
class _Request:
    customer: str
    fixture_id: int
    quantity: int
    section_id: int | None
    seat_ids: list[int] | None
    category: str | None
    concessions: list[str]
    source: HoldSource


def _attempt(
    db: sessionmaker[Session], request: _Request, spread: int, now: datetime, policies: Policies
) -> tuple[HoldView | None, int | None]:
    """One try at a hold: (hold, fan), or (None, None) when the seats were taken
    meanwhile (nothing was written: a new fan was not created either).
    """
    store = store_for(db)
    # A budgeted source is counted under its lock, in a transaction: no shortcut.
    first_allowed = store.first_holds_outside_transactions and not request.source.counted
    if first_allowed and known_customer(db, request.customer) is None:
        first = _first_hold(db, request, spread, now, policies)
        if first is not None:
            return first
        # The fan exists after all (made in another process, or by a racing request).
    with write_session(db) as session:
        fixture, customer_id = fixture_and_fan(session, request.fixture_id, request.customer)
        new_fan = customer_id is None
        if customer_id is None:
            # Nobody else can know this fan yet: no row to lock, nothing to count. The
            # fan is created with the hold, in this transaction.
            standing = _NEW_FAN
        else:
            standing = lock_fan(session, customer_id, fixture.id, now, policies)
        options = _options(session, fixture, request, standing, spread, now, policies, customer_id)
        # A block another buyer claimed a moment ago is skipped for the next one in the
        # same transaction. Seats claimed and given back stay locked until the end, so
        # a later block must start above them: locks are taken in seat id order only.
        locked = 0
        for seats in options:
            if min(s.id for s in seats) <= locked:
                continue
            hold, view = _priced(
                session,
                fixture=fixture,
                member=standing.is_member,
                seats=seats,
                concessions=request.concessions,
                now=now,
                policies=policies,
                kind="purchase",
            )
            claimed = store.claim_and_hold(
                session,
                hold,
                customer_id=customer_id,
                new_fan=request.customer if new_fan else None,
            )
            customer_id, new_fan = claimed.customer_id, False
            if claimed.complete:
                if request.source.counted:
                    record_source(session, hold.id, request.source)
                return view, customer_id
            if claimed.seat_ids:
                store.release_claims(session, hold.id)
                locked = max(locked, *claimed.seat_ids)
        session.rollback()
    return None, None


def _first_hold(
    db: sessionmaker[Session],
    request: _Request,
    spread: int,
    now: datetime,
    policies: Policies,
) -> tuple[HoldView | None, int | None] | None:
    """A fan this process does not know, where the store can write a first hold outside
    a transaction (PostgreSQL).

    Returns what `_attempt` returns, or None when the fan turns out to exist (the
    caller then takes the locking path). A fan nobody knows has no row to lock and
    nothing to count, so each block is tried by one all-or-nothing statement that
    makes the fan, their claims and the hold together; a taken seat, or a fixture no
    longer on sale, undoes it. The fixture is this process's recent copy (it names
    the venue and the sale windows; the statement checks the sale itself) and is read
    afresh before a fan is refused. The fan's lookup, the fixture's read, BEGIN and
    COMMIT are the round trips this saves: a match-day rush is mostly first tickets.
    """
    with autocommit_session(db) as session:
        recent = recent_fixture_row(session, request.fixture_id)
        try:
            return _first_hold_at(session, recent, request, spread, now, policies)
        except (SaleClosed, SaleChanged):
            pass  # the recent copy may be out of date: read the fixture, then decide
        fixture = fixture_row(session, request.fixture_id)
        try:
            return _first_hold_at(session, fixture, request, spread, now, policies)
        except SaleChanged:  # changed again since this read: the refusal stands
            check_for_sale(fixture, now, member=False)
            raise SaleClosed(
                "tickets for this match are not on sale right now", field="fixture_id"
            ) from None


def _first_hold_at(
    session: Session,
    fixture: FixtureRow,
    request: _Request,
    spread: int,
    now: datetime,
    policies: Policies,
) -> tuple[HoldView | None, int | None] | None:
    """`_first_hold` with `fixture` as read: each block in turn, one statement each."""
    store = store_for(session)
    options = _options(session, fixture, request, _NEW_FAN, spread, now, policies, None)
    for seats in options:
        hold, view = _priced(
            session,
            fixture=fixture,
            member=False,
            seats=seats,
            concessions=request.concessions,
            now=now,
            policies=policies,
            kind="purchase",
        )
        try:
            claimed = store.first_hold(session, hold, request.customer)
        except IntegrityError:
            return None  # their identity exists: made elsewhere a moment ago
        if claimed.complete:
            return view, claimed.customer_id
    return None, None


def _options(
    session: Session,
    fixture: FixtureRow,
    request: _Request,
    standing: FanStanding,
    spread: int,
    now: datetime,
    policies: Policies,
    customer_id: int | None,
) -> list[list[SeatRow]]:
    """After the sale and risk checks, the blocks of seats to try, in order."""
    quantity, seat_ids, section_id = request.quantity, request.seat_ids, request.section_id
    check_for_sale(fixture, now, member=standing.is_member)
    check_hold(standing, quantity, now, policies)
    check_source(session, request.source, fixture.id, quantity, now, policies)
    if seat_ids is not None:
        seats = seats_by_id(session, fixture, seat_ids)
        if section_id is not None and any(s.section_id != section_id for s in seats):
            raise InvalidRequest("seat_ids must lie in section_id", field="seat_ids")
        return [seats]
    chosen = choose_seat_options(
        session,
        fixture,
        quantity,
        now=now,
        section_id=section_id,
        category=request.category,
        customer_id=customer_id,
        spread=spread,
    )
    if chosen is None:
        raise SoldOut(f"not {quantity} seats left for this request", field="quantity")
    choice, blocks = chosen
    return [seats_of_choice(choice, block) for block in blocks[:_ALTERNATIVES]]


_ALTERNATIVES = 3  # blocks a best-available attempt tries before reading seats again


def get_hold(session: Session, customer: str, hold_id: str) -> HoldView:
    """The fan's hold (another fan's hold is `NotFound`)."""
    customer_id = lookup_customer(session, customer)
    hold = session.get(Hold, hold_id) if isinstance(hold_id, str) else None
    if hold is None or customer_id is None or hold.customer_id != customer_id:
        raise NotFound(f"no hold {hold_id}", field="hold_id")
    fixture = get_fixture(session, hold.fixture_id)
    return _view(hold, fixture.currency)


def release_hold(
    db: sessionmaker[Session], customer: str, hold_id: str, *, now: datetime | None = None
) -> None:
    """Give a hold's seats back now (the fan changed their mind)."""
    now = now or utcnow()
    with write_session(db) as session:
        customer_id = lookup_customer(session, customer)
        hold = session.get(Hold, hold_id, with_for_update=True)
        if hold is None or customer_id is None or hold.customer_id != customer_id:
            raise NotFound(f"no hold {hold_id}", field="hold_id")
        if hold.status != "active" or hold.expires_at <= now:
            raise HoldExpired("this hold has expired or was used already", field="hold_id")
        session.execute(
            delete(SeatClaim).where(SeatClaim.hold_id == hold_id, SeatClaim.status == "held")
        )
        hold.status = "released"
    metrics.count_hold("released")


def release_expired_holds(db: sessionmaker[Session], *, now: datetime | None = None) -> int:
    """Delete the claims of expired holds and mark those holds released; returns how many."""
    now = now or utcnow()
    with write_session(db) as session:
        session.execute(
            delete(SeatClaim).where(SeatClaim.status == "held", SeatClaim.expires_at <= now)
        )
        result = session.execute(
            update(Hold)
            .where(Hold.status == "active", Hold.expires_at <= now)
            .values(status="released")
        )
        return max(0, rowcount(result))
