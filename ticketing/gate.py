"""The gate: offline validation of codes and online check-in, once per ticket.

Offline (a scanner without the network): `validate_code()` checks the signature
with the trusted public keys, the fixture and a copy of the revocation list;
it cannot know whether the ticket was scanned at another gate. Online:
`check_in()` does the same and then flips the ticket to `used` with one
conditional UPDATE, so two scans racing at two gates admit one fan. A scanner
that retries with the same `nonce` gets the same `ok` back (one check-in).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import table_of, write_session
from ticketing.keys import KeyRing, default_keyring
from ticketing.models import Revocation, Seat, Section, Ticket
from ticketing.policies import Policies, current_policies
from ticketing.signing import TicketClaims, verify_code
from ticketing.store import Admission, store_for
from ticketing.venues import seat_label

ScanOutcome = Literal["ok", "already_used", "invalid", "revoked", "wrong_fixture"]
MAX_GATE = 32
MAX_NONCE = 64


@dataclass(frozen=True)
class ScanResult:
    """What the gate shows the steward."""

    result: ScanOutcome
    message: str
    ticket_id: int | None = None
    fixture_id: int | None = None
    seat_id: int | None = None
    seat: str | None = None
    used_at: datetime | None = None
    gate: str | None = None
    replayed: bool = False
    concession: str | None = None  # adult, child, disabled...: a steward asks for proof


_MESSAGES: dict[ScanOutcome, str] = {
    "ok": "valid ticket: let the fan in",
    "already_used": "this ticket has already been scanned",
    "invalid": "not a genuine ticket code",
    "revoked": "this ticket was refunded, exchanged or transferred: its code no longer works",
    "wrong_fixture": "this ticket is for another match",
}


def _answer(
    outcome: ScanOutcome, claims: TicketClaims | None = None, **extra: object
) -> ScanResult:
    """The answer; the concession is the code's own unless the ticket's row says it."""
    extra.setdefault("concession", claims.concession if claims else None)
    return ScanResult(
        result=outcome,
        message=_MESSAGES[outcome],
        ticket_id=claims.ticket_id if claims else None,
        fixture_id=claims.fixture_id if claims else None,
        seat_id=claims.seat_id if claims else None,
        **extra,  # type: ignore[arg-type]
    )


def validate_code(
    code: str,
    *,
    fixture_id: int | None = None,
    revoked: Collection[tuple[int, int]] = (),
    keys: KeyRing | None = None,
) -> ScanResult:
    """Check a code offline: signature, fixture, revocation list (pairs of ticket id, version)."""
    claims = verify_code(keys or default_keyring(), code)
    if claims is None:
        return _answer("invalid")
    if fixture_id is not None and claims.fixture_id != fixture_id:
        return _answer("wrong_fixture", claims)
    if (claims.ticket_id, claims.version) in revoked:
        return _answer("revoked", claims)
    return _answer("ok", claims)


def revocation_list(
    session: Session,
    *,
    fixture_id: int | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[tuple[int, int, datetime]]:
    """Revoked (ticket id, version, when), oldest first: what offline scanners download.

    `limit` and `offset` page through it; the order is total, so pages never overlap.
    """
    query = select(Revocation.ticket_id, Revocation.version, Revocation.revoked_at)
    if fixture_id is not None:
        query = query.where(Revocation.fixture_id == fixture_id)
    if since is not None:
        query = query.where(Revocation.revoked_at > since)
    query = query.order_by(Revocation.revoked_at, Revocation.ticket_id, Revocation.version)
    return [(t, v, at) for t, v, at in session.execute(query.limit(limit).offset(offset)).tuples()]


def revoked_set(session: Session, *, fixture_id: int | None = None) -> frozenset[tuple[int, int]]:
    """The revocation list as a set, for `validate_code(revoked=...)`."""
    return frozenset((t, v) for t, v, _at in revocation_list(session, fixture_id=fixture_id))


_seat_names: dict[tuple[str, int], str] = {}


def seat_names(session: Session, seat_ids: Iterable[int]) -> dict[int, str]:
    """The printed names of seats, {seat id: name}, with one query for those not yet known.

    Seats never change, so names are remembered per database; a batch of check-ins
    (each ticket a different seat) costs one query, not one per ticket.
    """
    url = str(getattr(session.get_bind(), "url", ""))
    names: dict[int, str] = {}
    missing: list[int] = []
    for seat_id in seat_ids:
        name = _seat_names.get((url, seat_id))
        if name is None:
            missing.append(seat_id)
        else:
            names[seat_id] = name
    if missing:
        rows = session.execute(
            select(Seat.id, Section.code, Seat.row, Seat.number)
            .join(Section, Section.id == Seat.section_id)
            .where(Seat.id.in_(missing))
        ).tuples()
        for seat_id, code, row, number in rows:
            names[seat_id] = _seat_names[(url, seat_id)] = seat_label(code, row, number)
    return names


@dataclass(frozen=True)
class Scan:
    """One scan at a gate: the code read, the gate, and the scanner's optional fields."""

    code: str
    gate: str
    fixture_id: int | None = None
    nonce: str | None = None


@cache
def _look() -> Select[Any]:
    """The rows of the tickets a batch did not admit (to say why)."""
    tickets = table_of(Ticket)
    return select(
        tickets.c.id,
        tickets.c.status,
        tickets.c.version,
        tickets.c.used_at,
        tickets.c.used_gate,
        tickets.c.checkin_nonce,
        tickets.c.fixture_id,
        tickets.c.concession,
    ).where(tickets.c.id.in_(bindparam("b_tickets", expanding=True)))


def check_in(
    db: sessionmaker[Session],
    code: str,
    gate: str,
    *,
    fixture_id: int | None = None,
    nonce: str | None = None,
    now: datetime | None = None,
    keys: KeyRing | None = None,
    policies: Policies | None = None,
) -> ScanResult:
    """Admit the ticket once: `ok` the first time (or the same gate's retry with the same
    nonce, shortly after), then `already_used` with when and at which gate; `invalid`,
    `revoked`, `wrong_fixture` as for offline validation.
    """
    scan = Scan(code, gate, fixture_id, nonce)
    return check_in_many(db, [scan], now=now, keys=keys, policies=policies)[0]


def check_in_many(
    db: sessionmaker[Session],
    scans: Sequence[Scan],
    *,
    now: datetime | None = None,
    keys: KeyRing | None = None,
    policies: Policies | None = None,
) -> list[ScanResult]:
    """`check_in()` for several scans in one transaction, answers in the same order.

    Scans of the same ticket in one batch count in order: the first admits it, the
    others see it used (or get `ok` again when they repeat the first one's nonce from
    its gate within the club's `gate.nonce_window_seconds`).
    """
    keyring = keys or default_keyring()
    now = now or utcnow()
    window = timedelta(seconds=(policies or current_policies()).gate.nonce_window_seconds)
    results: list[ScanResult | None] = [None] * len(scans)
    verified: list[tuple[int, Scan, TicketClaims]] = []
    for i, scan in enumerate(scans):
        claims = verify_code(keyring, scan.code)
        if claims is None:
            results[i] = _answer("invalid")
        elif scan.fixture_id is not None and claims.fixture_id != scan.fixture_id:
            results[i] = _answer("wrong_fixture", claims)
        else:
            verified.append((i, scan, claims))
    if not verified:
        return _all(results)
    first: dict[int, tuple[int, Scan, TicketClaims]] = {}
    for item in verified:
        first.setdefault(item[2].ticket_id, item)
    with write_session(db) as session:
        admissions = [
            Admission(c.ticket_id, c.version, c.fixture_id, scan.gate, scan.nonce)
            for _i, scan, c in first.values()
        ]
        admitted = store_for(session).admit(session, admissions, now)
        labels = seat_names(session, (a.seat_id for a in admitted.values()))
        for ticket_id, ticket in admitted.items():
            i, scan, claims = first[ticket_id]
            results[i] = _answer(
                "ok",
                claims,
                seat=labels[ticket.seat_id],
                used_at=now,
                gate=scan.gate,
                concession=ticket.concession,
            )
        others = [item for item in verified if results[item[0]] is None]
        rows = {}
        if others:
            ids = sorted({claims.ticket_id for _i, _s, claims in others})
            rows = {
                row.id: row for row in session.connection().execute(_look(), {"b_tickets": ids})
            }
    for i, scan, claims in others:
        results[i] = _seen(rows.get(claims.ticket_id), scan, claims, now, window)
    return _all(results)


def _all(results: list[ScanResult | None]) -> list[ScanResult]:
    """The answers once every scan has one (a missing one is a bug, not a result)."""
    answered = [r for r in results if r is not None]
    if len(answered) != len(results):
        raise AssertionError("a scan of the batch was left without an answer")
    return answered


def _a_retry(ticket: Any, scan: Scan, now: datetime, window: timedelta) -> bool:
    """The scanner that admitted this ticket asking again (a lost answer): the same nonce,
    the same gate, within the window. Anything else is a second scan."""
    return (
        scan.nonce is not None
        and ticket.checkin_nonce == scan.nonce
        and ticket.used_gate == scan.gate
        and ticket.used_at is not None
        and timedelta(0) <= now - ticket.used_at <= window
    )


def _seen(
    ticket: Any, scan: Scan, claims: TicketClaims, now: datetime, window: timedelta
) -> ScanResult:
    """The answer for a scan that did not admit its ticket, from the ticket's row."""
    if ticket is None or ticket.fixture_id != claims.fixture_id:
        return _answer("invalid", claims)
    if ticket.version != claims.version or ticket.status not in ("valid", "used"):
        return _answer("revoked", claims)
    seen = {"used_at": ticket.used_at, "gate": ticket.used_gate, "concession": ticket.concession}
    if _a_retry(ticket, scan, now, window):
        return _answer("ok", claims, replayed=True, **seen)
    return _answer("already_used", claims, **seen)
