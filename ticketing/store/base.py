"""What the sale store does, and the records it takes and gives back.

The store owns the statements that decide who gets a seat and that money and tickets
change hands exactly once: claiming seats into a hold, reserving a hold for payment,
settling a paid order with its tickets, admitting tickets at the gate, and locking a
fan's row while their cap is counted. The rules (caps, prices, concessions, sale
windows, idempotency, refunds) live above it, in `holds`, `paying`, `risk` and `gate`,
written once for every database.

One implementation per database, chosen once per engine by `ticketing.store.store_for`:
`SQLiteStore` runs plain statements under the process's write lock;
`PostgresStore` writes each step with one statement, most of them outside an explicit
transaction (docs/ticketing.md has the locking discipline and the figures).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from core.db import DatabaseKind
from ticketing.models import SeatClaim


@dataclass(frozen=True)
class SeatRef:
    """A seat to claim, with the section it lies in."""

    id: int
    section_id: int


@dataclass(frozen=True)
class NewHold:
    """A priced hold to write once its seats are claimed (`lines` as stored in `holds`)."""

    id: str
    fixture_id: int
    kind: str
    seats: Sequence[SeatRef]
    lines: list[dict[str, Any]]
    total: int
    now: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Claimed:
    """What a claim got: the fan (made now if they were new) and the seats it claimed.

    `complete` is True when every seat was claimed and the hold was written; otherwise
    the caller rolls back or gives the claimed seats back (`release_claims`).
    """

    customer_id: int
    seat_ids: list[int]
    complete: bool


@dataclass(frozen=True)
class PaymentStart:
    """A payment request to reserve: the fan's hold becomes a pending order."""

    customer_id: int
    hold_id: str
    key: str
    request_hash: str
    token: str
    provider: str
    now: datetime
    order_prefix: str


@dataclass(frozen=True)
class Reserved:
    """A pending order, ready to charge."""

    order_id: int
    ref: str
    reference: str
    amount: int
    currency: str
    fixture_id: int
    customer_id: int
    hold_id: str
    lines: list[dict[str, Any]]


@dataclass(frozen=True)
class Settlement:
    """A captured order to settle: its payment reference and its signed ticket rows."""

    order_id: int
    reference: str
    now: datetime
    tickets: list[dict[str, Any]]


@dataclass(frozen=True)
class Settled:
    """The order a settlement marked paid."""

    customer_id: int
    fixture_id: int
    hold_id: str
    total: int
    currency: str
    ref: str
    created_at: datetime


@dataclass(frozen=True)
class Admission:
    """A verified scan to admit: the ticket as its code names it, the gate, the nonce."""

    ticket_id: int
    version: int
    fixture_id: int
    gate: str
    nonce: str | None


@dataclass(frozen=True)
class Admitted:
    """A ticket the gate let in: its seat, and its concession (for the steward)."""

    seat_id: int
    concession: str


class HoldUnusable(Exception):
    """The hold is not the fan's, or not active: the caller reads it and says why."""


class SaleChanged(Exception):
    """An all-or-nothing claim found the fixture not on general sale at `now`."""


class SaleStore(ABC):
    """The statements of the hot path, for one database."""

    kind: ClassVar[DatabaseKind]
    first_holds_outside_transactions: ClassVar[bool]
    """True when a new fan's first hold can be one all-or-nothing statement outside a
    transaction (`first_hold`): no lookup, no BEGIN and COMMIT round trips."""

    # --- fans ---------------------------------------------------------------------------

    @abstractmethod
    def create_fan(self, session: Session, external_id: str, now: datetime) -> int:
        """A new fan known by `external_id`, in the caller's transaction; their id.

        Raises `IntegrityError` when another transaction created the identity meanwhile.
        """

    @abstractmethod
    def lock_fan(self, session: Session, customer_id: int) -> None:
        """Hold the fan's row until the transaction ends, so their cap is counted once."""

    @abstractmethod
    def lock_source(self, session: Session, name: str) -> None:
        """Hold a lock named `name` (an address, origin or key of `risk.HoldSource`) until
        the transaction ends, so a budget is counted once. Callers take a hold's locks in
        one global order, after the fan's (no deadlock)."""

    # --- holds --------------------------------------------------------------------------

    @abstractmethod
    def claim_and_hold(
        self, session: Session, hold: NewHold, *, customer_id: int | None, new_fan: str | None
    ) -> Claimed:
        """Claim the seats of `hold` (free, or held by an expired hold) and write the hold
        if every one was claimed, in the caller's transaction.

        With `new_fan` (an external id nobody knows) the fan is created too, even when a
        seat was taken; otherwise `customer_id` is the fan. Seats are claimed in id
        order, so concurrent holds never deadlock.
        """

    @abstractmethod
    def first_hold(self, session: Session, hold: NewHold, new_fan: str) -> Claimed:
        """`claim_and_hold` for a new fan as one statement on an autocommit session: all or
        nothing (a taken seat writes no claim and no fan: `complete` False, no seats).

        Raises `SaleChanged` when the fixture is not on general sale at `hold.now`, and
        `IntegrityError` when the fan exists after all. Only where
        `first_holds_outside_transactions`.
        """

    def release_claims(self, session: Session, hold_id: str) -> None:
        """Give back what a failed claim took, in the caller's transaction."""
        session.execute(delete(SeatClaim).where(SeatClaim.hold_id == hold_id))

    # --- paying -------------------------------------------------------------------------

    @abstractmethod
    def reserve(self, db: sessionmaker[Session], start: PaymentStart) -> Reserved | None:
        """Record the idempotency key, turn the hold into a pending order with its payment
        and its claims into pending claims that no longer expire; all or nothing.

        None when the key exists already (a replay: nothing written). Raises
        `HoldExpired` (a claim lapsed) and `HoldUnusable`.
        """

    @abstractmethod
    def settle(self, db: sessionmaker[Session], settlement: Settlement) -> Settled | None:
        """Mark the pending order paid, its claims sold, its payment captured, write its
        ledger entry and its tickets; all or nothing. None when it was not pending (settled
        by someone else meanwhile: nothing written)."""

    # --- the gate -----------------------------------------------------------------------

    @abstractmethod
    def admit(
        self, session: Session, admissions: Sequence[Admission], now: datetime
    ) -> dict[int, Admitted]:
        """Flip the named tickets that are still valid (same version and fixture) to used;
        {ticket id: its seat and concession} of those admitted. At most one admission per
        ticket."""

    # --- plumbing -----------------------------------------------------------------------

    @abstractmethod
    def rows(
        self, bind: Session | Connection, statement: Any, parameters: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        """Run a SELECT built once (module-level), in the caller's transaction: its rows."""

    @abstractmethod
    def refresh_statistics(self, session: Session, tables: Sequence[str]) -> None:
        """Let the planner know the tables' sizes after a bulk load."""
