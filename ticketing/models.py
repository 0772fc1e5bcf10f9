"""Tables of the ticketing engine (SQLAlchemy 2 declarative, typed).

Layout: venue → stands → sections → rows → seats; competitions, teams, fixtures
with per-category prices; customers and their channel identities; holds, seat
claims, orders, payments, tickets, revocations, quotes, refunds, the ledger and
risk counters. Seat ownership for a fixture lives in one place: `seat_claims`,
whose primary key (fixture_id, seat_id) makes selling a seat twice impossible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base

# --- the ground ---------------------------------------------------------------------------


class Competition(Base):
    """A league, cup or friendly series; `id` is the name fixtures use (e.g. "League")."""

    __tablename__ = "competitions"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(120), default="")


class Team(Base):
    """A club, with its names and aliases in English and Chinese."""

    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)


class Venue(Base):
    """A stadium."""

    __tablename__ = "venues"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(200), default=None)


class ClubRecord(Base):
    """The club the desk sells for: its names, order prefix, own team and home ground.

    One row, loaded from the club's data folder (`club` in club.yml); read through
    `ticketing.club.current_club`. Its time zone is its ground's (`venues.timezone`).
    """

    __tablename__ = "clubs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    short_name_en: Mapped[str] = mapped_column(String(60))
    short_name_zh: Mapped[str] = mapped_column(String(60))
    order_prefix: Mapped[str] = mapped_column(String(4))
    home_team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id"))


class PriceCategory(Base):
    """A seating category's names (`fixture_prices.category`, `sections.category`)."""

    __tablename__ = "price_categories"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))


class Stand(Base):
    """One side of the ground (West Stand, ...)."""

    __tablename__ = "stands"

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id"))
    code: Mapped[str] = mapped_column(String(16))
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))

    __table_args__ = (UniqueConstraint("venue_id", "code"),)


class Section(Base):
    """A block of seats sold at one price category."""

    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id"))
    stand_id: Mapped[int] = mapped_column(ForeignKey("stands.id"))
    code: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(
        String(16), default="general"
    )  # general/family/away/accessible
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    covered: Mapped[bool] = mapped_column(Boolean, default=False)
    view_note: Mapped[str] = mapped_column(String(200), default="")
    rank: Mapped[int] = mapped_column(Integer, default=100)  # lower is a better view
    capacity: Mapped[int] = mapped_column(Integer, default=0)

    stand: Mapped[Stand] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("venue_id", "code"),)


class SeatRow(Base):
    """A row of a section, with what is particular about it."""

    __tablename__ = "seat_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    label: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer)  # 1 = front
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (UniqueConstraint("section_id", "label"),)


class Seat(Base):
    """A seat (or wheelchair space); named section-row-number, e.g. W3-F-17."""

    __tablename__ = "seats"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    row_id: Mapped[int] = mapped_column(ForeignKey("seat_rows.id"))
    row: Mapped[str] = mapped_column(String(8))
    row_position: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="standard")
    # standard, wheelchair, companion, easy_access
    quality: Mapped[int] = mapped_column(Integer, default=0)  # lower is a better view

    __table_args__ = (
        UniqueConstraint("section_id", "row", "number"),
        Index("ix_seats_section_order", "section_id", "row_position", "number"),
        Index("ix_seats_section_quality", "section_id", "quality"),
    )


# --- fixtures and prices ------------------------------------------------------------------


class Fixture(Base):
    """A match on sale (or postponed, or cancelled)."""

    __tablename__ = "fixtures"
    __table_args__ = (Index("ix_fixtures_kickoff", "kickoff"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition: Mapped[str] = mapped_column(String(120))
    home_team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    away_team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id"))
    kickoff: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    demand: Mapped[str] = mapped_column(String(16), default="normal")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    presale_opens_at: Mapped[datetime | None] = mapped_column(default=None)
    general_sale_opens_at: Mapped[datetime | None] = mapped_column(default=None)
    sale_closes_at: Mapped[datetime | None] = mapped_column(default=None)
    original_kickoff: Mapped[datetime | None] = mapped_column(default=None)
    status_changed_at: Mapped[datetime | None] = mapped_column(default=None)

    home_team: Mapped[Team] = relationship(foreign_keys=[home_team_id], lazy="joined")
    away_team: Mapped[Team] = relationship(foreign_keys=[away_team_id], lazy="joined")
    venue: Mapped[Venue] = relationship(lazy="joined")


class FixturePrice(Base):
    """The adult price of a category for one fixture, in minor units (fen)."""

    __tablename__ = "fixture_prices"

    fixture_id: Mapped[int] = mapped_column(ForeignKey("fixtures.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)


# --- fans -----------------------------------------------------------------------------------


class Customer(Base):
    """A fan; reachable through one or more channel identities."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    is_member: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class CustomerIdentity(Base):
    """An external id of a fan: `tg:12345`, `web:<session>`, `email:a@b.c`, `api:<id>`."""

    __tablename__ = "customer_identities"

    external_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime]


# --- selling ----------------------------------------------------------------------------------


class Hold(Base):
    """Seats reserved for a fan while they pay; `lines` lists seat, concession and price."""

    __tablename__ = "holds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    fixture_id: Mapped[int] = mapped_column(ForeignKey("fixtures.id"))
    kind: Mapped[str] = mapped_column(String(16), default="purchase")  # purchase/exchange
    status: Mapped[str] = mapped_column(String(16), default="active")  # active/ordered/released
    quantity: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # Who asked, beyond the fan's id (which a widget session makes fresh each time): the
    # client's address, the page's origin, the server-to-server key. Budgets count these.
    source_address: Mapped[str | None] = mapped_column(String(64), default=None)
    source_origin: Mapped[str | None] = mapped_column(String(255), default=None)
    source_key: Mapped[int | None] = mapped_column(Integer, default=None)

    __table_args__ = (
        Index("ix_holds_customer_created", "customer_id", "created_at"),
        Index("ix_holds_source_address_created", "source_address", "created_at"),
        Index("ix_holds_source_origin_created", "source_origin", "created_at"),
        Index("ix_holds_source_key_created", "source_key", "created_at"),
    )


class SeatClaim(Base):
    """Who has a seat for a fixture: held (until `expires_at`), pending payment, or sold.

    The primary key is the no-double-sale guarantee. A held claim whose time is up
    counts as free and is taken over atomically by the next buyer's upsert.
    """

    __tablename__ = "seat_claims"

    fixture_id: Mapped[int] = mapped_column(ForeignKey("fixtures.id"), primary_key=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"), primary_key=True)
    section_id: Mapped[int] = mapped_column(Integer)
    hold_id: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int] = mapped_column(Integer)  # the buyer
    status: Mapped[str] = mapped_column(String(16))  # held/pending/sold
    expires_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_seat_claims_fixture_section", "fixture_id", "section_id"),
        Index("ix_seat_claims_fixture_customer", "fixture_id", "customer_id"),
        Index("ix_seat_claims_hold", "hold_id"),
    )


class Order(Base):
    """A fan's purchase, or a ticket received from another fan; `ref` (the club's order
    prefix and six characters, RA-7KX2QD) is what fans and the API see. `hold_id` is the
    paid hold, or for a transfer its quote's id."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    fixture_id: Mapped[int] = mapped_column(ForeignKey("fixtures.id"), index=True)
    hold_id: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(24))
    # pending/paid/partially_refunded/refunded
    total: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    payment_source: Mapped[str] = mapped_column(String(120))
    origin: Mapped[str] = mapped_column(String(16), default="purchase")
    # purchase/exchange/transfer (a ticket received from another fan; see ticketing/transfers.py)
    source_order_id: Mapped[int | None] = mapped_column(default=None)
    # for a transfer: the order whose payment paid for the ticket (its refunds go back there)
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None] = mapped_column(default=None)


class IdempotencyKey(Base):
    """The outcome of a payment request, replayed when the same key comes again."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    order_ref: Mapped[str] = mapped_column(String(16))  # no such order any more: declined
    created_at: Mapped[datetime]


class Payment(Base):
    """One charge sent to a payment provider; `reference` is its idempotency reference."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int | None] = mapped_column(default=None, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # order/exchange/transfer_fee
    provider: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    # started/captured/declined/compensated
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_payments_status", "status"),)


class Ticket(Base):
    """An e-ticket: one seat at one fixture for one holder, with its signed code."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    fixture_id: Mapped[int] = mapped_column(ForeignKey("fixtures.id"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    price: Mapped[int] = mapped_column(Integer)
    concession: Mapped[str] = mapped_column(String(16), default="adult")
    status: Mapped[str] = mapped_column(String(16))
    # valid/used/refunded/exchanged/transferred/cancelled
    version: Mapped[int] = mapped_column(Integer, default=1)
    key_id: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime]
    replaces_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    used_gate: Mapped[str | None] = mapped_column(String(32), default=None)
    checkin_nonce: Mapped[str | None] = mapped_column(String(64), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_tickets_fixture_seat", "fixture_id", "seat_id"),)


class Revocation(Base):
    """A ticket code that must no longer open a gate (refunded, exchanged, transferred)."""

    __tablename__ = "revocations"

    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    fixture_id: Mapped[int] = mapped_column(Integer, index=True)
    reason: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[datetime] = mapped_column(index=True)


class Quote(Base):
    """A fee quote for a refund, exchange or transfer; confirmed once, before it expires."""

    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # refund/exchange/transfer
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    ticket_ids: Mapped[list[int]] = mapped_column(JSON)
    fee: Mapped[int] = mapped_column(Integer)
    refund_amount: Mapped[int] = mapped_column(Integer, default=0)
    charge_amount: Mapped[int] = mapped_column(Integer, default=0)
    hold_id: Mapped[str | None] = mapped_column(String(32), default=None)
    to_customer_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class Refund(Base):
    """Money on its way back to a fan; `pending` until the provider confirms it."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    charge_reference: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending/settled
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None] = mapped_column(default=None)


class LedgerEntry(Base):
    """An append-only record of money: payments (+), refunds (-), retained fees (memo),
    and the price of a ticket moved by a transfer (- on the order it left, + on the new one).

    Per order: payments + refunds + moved = prices of live tickets + fees.
    A database trigger refuses UPDATE and DELETE on this table.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))  # payment/refund/fee/transfer_fee/moved
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(64))


class RiskCount(Base):
    """How many requests were refused, per minute (UTC, seconds zero), fixture (0 when
    none) and reason: written by the gateway and the action server alike."""

    __tablename__ = "risk_counts"

    minute: Mapped[datetime] = mapped_column(primary_key=True)
    fixture_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


# --- the sandbox payment provider's own books --------------------------------------------------


class SandboxCharge(Base):
    """A charge as the sandbox provider records it (its side, not ours)."""

    __tablename__ = "sandbox_charges"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16))  # captured/declined
    created_at: Mapped[datetime]


class SandboxRefund(Base):
    """A refund as the sandbox provider records it."""

    __tablename__ = "sandbox_refunds"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    charge_reference: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
