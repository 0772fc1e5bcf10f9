"""Payments: the provider interface and the built-in sandbox provider.

The engine talks to a provider through three calls, each keyed by a reference
the engine chooses, so that a retry never charges twice:
`charge(reference, ...)`, `status(reference)` and `refund(reference, ...)`.

The sandbox keeps its own books in `sandbox_charges`/`sandbox_refunds` (its
side of the world, written in its own transactions) and reads the token:
`tok_ok` is captured, `tok_decline` is declined, `tok_timeout` is captured but
the answer is lost on the way back (`ProviderTimeout`), as happens with real
networks; asking again with the same reference, or `status()`, tells the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import (
    DatabaseKind,
    conflict_insert,
    database_kind,
    own_transaction,
    table_of,
    write_session,
)
from ticketing.errors import InvalidRequest
from ticketing.models import SandboxCharge, SandboxRefund

ChargeStatus = Literal["captured", "declined"]
SANDBOX_TOKENS = ("tok_ok", "tok_decline", "tok_timeout")


@dataclass(frozen=True)
class ChargeResult:
    """What the provider says about a charge."""

    reference: str
    status: ChargeStatus
    amount: int
    reason: str = ""


class ProviderTimeout(Exception):
    """The provider did not answer; the charge may or may not have happened."""


class PaymentProvider(Protocol):
    """What the engine needs from a payment provider."""

    name: str

    def charge(self, reference: str, amount: int, currency: str, source: str) -> ChargeResult:
        """Charge `amount` once per `reference`; a repeat returns the first outcome."""
        ...

    def status(self, reference: str) -> ChargeResult | None:
        """The outcome of the charge with `reference`, or None if it never arrived."""
        ...

    def refund(self, reference: str, charge_reference: str, amount: int) -> None:
        """Return `amount` of a captured charge, once per refund `reference`."""
        ...


class SandboxProvider:
    """A provider for demos and tests that never moves real money."""

    name = "sandbox"

    def __init__(self, db: sessionmaker[Session]) -> None:
        self._db = db

    def charge(self, reference: str, amount: int, currency: str, source: str) -> ChargeResult:
        """Record the charge the token asks for; `tok_timeout` raises `ProviderTimeout`."""
        status: ChargeStatus = "captured" if source in ("tok_ok", "tok_timeout") else "declined"
        with own_transaction(self._db) as connection:  # one statement: its own transaction
            statement = _charge(database_kind(connection))
            inserted = connection.execute(
                statement,
                {
                    "reference": reference,
                    "amount": amount,
                    "source": source,
                    "status": status,
                    "created_at": utcnow(),
                },
            ).scalar()
        if inserted is None:  # charged before under this reference: its first outcome
            first = self.status(reference)
            assert first is not None
            return first
        if source == "tok_timeout":
            raise ProviderTimeout(f"sandbox: no answer for {reference}")
        reason = "" if status == "captured" else _decline_reason(source)
        return ChargeResult(reference=reference, status=status, amount=amount, reason=reason)

    def status(self, reference: str) -> ChargeResult | None:
        """The recorded outcome of `reference`, if the charge ever arrived."""
        with self._db() as session:
            charge = session.get(SandboxCharge, reference)
            return _result(charge) if charge is not None else None

    def refund(self, reference: str, charge_reference: str, amount: int) -> None:
        """Record the refund (idempotent per reference)."""
        with write_session(self._db) as session:
            stmt = conflict_insert(database_kind(session), SandboxRefund).values(
                reference=reference,
                charge_reference=charge_reference,
                amount=amount,
                created_at=utcnow(),
            )
            session.execute(stmt.on_conflict_do_nothing())

    def captured_total(self, session: Session) -> int:
        """Money the sandbox holds: captured charges minus refunds (for invariant checks)."""
        charges = session.scalars(
            select(SandboxCharge.amount).where(SandboxCharge.status == "captured")
        ).all()
        refunds = session.scalars(select(SandboxRefund.amount)).all()
        return sum(charges) - sum(refunds)


@cache
def _charge(kind: DatabaseKind) -> Any:
    table = table_of(SandboxCharge)
    return conflict_insert(kind, table).on_conflict_do_nothing().returning(table.c.reference)


def _decline_reason(source: str) -> str:
    if source == "tok_decline":
        return "the card was declined"
    return f"unknown sandbox token {source!r} (use one of {', '.join(SANDBOX_TOKENS)})"


def _result(charge: SandboxCharge) -> ChargeResult:
    status: ChargeStatus = "captured" if charge.status == "captured" else "declined"
    reason = "" if status == "captured" else _decline_reason(charge.source)
    return ChargeResult(
        reference=charge.reference, status=status, amount=charge.amount, reason=reason
    )


def provider_for(method: str, db: sessionmaker[Session]) -> PaymentProvider:
    """The provider for a payment method name (only `sandbox` is built in)."""
    if method == "sandbox":
        return SandboxProvider(db)
    raise InvalidRequest(f"unknown payment method {method!r}", field="payment.method")
