"""Verifying an order bought elsewhere, so that a chat may look after it.

A fan whose order is not linked to the channel they write from (bought on the
website, through another chat, at the box office) proves it is theirs in two steps:

1. `start_verification`: the order reference and the order's e-mail address. If
   both match, a one-time code is sent to that address (the local outbox in
   development). Whether they match is never told: a wrong reference, a wrong
   address and a right pair all answer the same challenge, and only the owner of
   the mailbox learns a code that works.
2. `confirm_verification`: the code. Right and in time, the order (with the
   tickets its buyer still holds) moves to the fan of this chat, and status,
   refund, exchange and transfer work on it like on any of their orders.

Codes are six digits, stored only as a salted PBKDF2 hash, expire after
`code_minutes`, allow `max_attempts` tries, and each chat may start only
`starts_per_hour` verifications (addresses get at most `mails_per_hour` codes,
silently, so the limit says nothing about which addresses exist).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.clock import utcnow
from core.db import Base, write_session
from ticketing.club import Club, current_club
from ticketing.customers import emails_of, lookup_customer, normalize_email, resolve_customer
from ticketing.errors import InvalidRequest, NotFound, RateLimited, TicketingError
from ticketing.ids import REF_ALPHABET, new_id
from ticketing.mail import Mailer, MailMessage, bilingual_mail, deliver
from ticketing.models import Order, SeatClaim, Ticket
from ticketing.orders import order_prefix

_HASH_ROUNDS = 120_000


@dataclass(frozen=True)
class VerificationRules:
    """How strict verification is."""

    code_minutes: int = 10
    max_attempts: int = 5
    starts_per_hour: int = 5
    mails_per_hour: int = 3
    failures_per_order_per_hour: int = 10  # wrong codes, over every chat trying this order
    failures_per_email_per_hour: int = 10  # ... and over every chat naming this address


class OrderVerification(Base):
    """One attempt to prove an order is yours; `order_id` is None when nothing matched."""

    __tablename__ = "order_verifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), default=None)
    email_digest: Mapped[str] = mapped_column(String(64))
    code_salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    verified_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_order_verifications_customer_created", "customer_id", "created_at"),
        Index("ix_order_verifications_email_created", "email_digest", "created_at"),
    )


class VerificationError(TicketingError):
    """Base of the errors of order verification."""

    code = "verification_error"


class WrongCode(VerificationError):
    """The code does not match (or nothing matched at the first step); `attempts_left` tries."""

    code = "verification_code_wrong"

    def __init__(self, message: str, attempts_left: int) -> None:
        super().__init__(message, field="code")
        self.attempts_left = attempts_left


class CodeExpired(VerificationError):
    """The code's time is up; start again."""

    code = "verification_code_expired"


class TooManyAttempts(VerificationError):
    """Every try of this challenge was used; start again."""

    code = "verification_locked"


class VerificationRateLimited(RateLimited):
    """This chat started too many verifications in the last hour."""

    code = "verification_rate_limited"


@dataclass(frozen=True)
class Challenge:
    """A started verification: the same whether or not the reference and address matched."""

    id: str
    email: str
    expires_at: datetime
    attempts_left: int


@dataclass(frozen=True)
class Verified:
    """The order now linked to the fan."""

    order_ref: str
    customer_id: int


def check_order_ref(text: str, prefix: str) -> str:
    """An order reference as stored: the club's order `prefix`, a dash and six characters,
    upper case (typed in lower case, without the dash or without the prefix is fine)."""
    ref = text.strip().upper() if isinstance(text, str) else ""
    body = ref.removeprefix(f"{prefix}-") if ref.startswith(f"{prefix}-") else ref
    if len(body) == len(prefix) + 6:
        body = body.removeprefix(prefix)
    if len(body) != 6 or any(c not in REF_ALPHABET for c in body):
        raise InvalidRequest(
            f"order_ref: expected a reference such as {prefix}-7KX2QD", field="order_ref"
        )
    return f"{prefix}-{body}"


def check_code(text: str) -> str:
    """A one-time code: six digits (spaces and dashes ignored)."""
    code = "".join(c for c in str(text) if c not in " -")
    if len(code) != 6 or not (code.isascii() and code.isdigit()):  # "²".isdigit() holds too
        raise InvalidRequest("code: expected the six digits from the e-mail", field="code")
    return code


def _digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def _hash_code(code: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), _HASH_ROUNDS).hex()


def _mail(email: str, ref: str, code: str, minutes: int, club: Club) -> MailMessage:
    return bilingual_mail(
        email,
        subject_key="verification.mail_subject",
        body_key="verification.mail_body",
        values=lambda language: {
            "club": club.name(language),
            "order_ref": ref,
            "code": code,
            "minutes": minutes,
        },
    )


def start_verification(
    db: sessionmaker[Session],
    customer: str,
    order_ref: str,
    email: str,
    *,
    mailer: Mailer | None = None,
    now: datetime | None = None,
    rules: VerificationRules | None = None,
) -> Challenge:
    """Begin verifying `order_ref` for the fan behind `customer` (an external id).

    Sends a code to `email` only when it is an address of the order's buyer; the
    answer is the same either way. Raises `InvalidRequest` for a malformed
    reference or address and `VerificationRateLimited` after too many starts.
    """
    rules = rules or VerificationRules()
    now = now or utcnow()
    mailer = mailer or deliver
    ref = check_order_ref(order_ref, order_prefix(db))
    address = normalize_email(email)
    customer_id = resolve_customer(db, customer)
    hour_ago = now - timedelta(hours=1)
    with write_session(db) as session:
        started = session.scalars(
            select(OrderVerification.created_at).where(
                OrderVerification.customer_id == customer_id,
                OrderVerification.created_at > hour_ago,
            )
        ).all()
        if len(started) >= rules.starts_per_hour:
            wait = min(started) + timedelta(hours=1) - now
            raise VerificationRateLimited(
                "too many verifications from this chat; try again later",
                retry_after_s=max(1, int(wait.total_seconds())),
            )
        # The same work whether or not the reference and the address match (the same
        # queries, one hash), so the time taken tells nobody whether an address bought it.
        order = session.scalar(select(Order).where(Order.ref == ref))
        buyer = order.customer_id if order is not None else -1
        matched = order is not None and address in emails_of(session, buyer)
        digest = _digest(address)
        mailed = session.scalar(
            select(func.count())
            .select_from(OrderVerification)
            .where(
                OrderVerification.email_digest == digest,
                OrderVerification.code_hash.is_not(None),
                OrderVerification.created_at > hour_ago,
            )
        )
        matched = matched and int(mailed or 0) < rules.mails_per_hour
        salt = secrets.token_hex(16)
        code = f"{secrets.randbelow(10**6):06d}"
        code_hash = _hash_code(code, salt)
        challenge = OrderVerification(
            id=new_id("V"),
            customer_id=customer_id,
            email_digest=digest,
            code_salt=salt,
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(minutes=rules.code_minutes),
        )
        if matched and order is not None:
            challenge.order_id = order.id
            challenge.code_hash = code_hash
            mailer(
                session, _mail(address, ref, code, rules.code_minutes, current_club(session)), now
            )
        session.add(challenge)
        return Challenge(
            id=challenge.id,
            email=address,
            expires_at=challenge.expires_at,
            attempts_left=rules.max_attempts,
        )


def confirm_verification(
    db: sessionmaker[Session],
    customer: str,
    challenge_id: str,
    code: str,
    *,
    now: datetime | None = None,
    rules: VerificationRules | None = None,
) -> Verified:
    """Check the code; right, the order is linked to the fan behind `customer`.

    Raises `InvalidRequest` (not six digits), `NotFound` (no such challenge for
    this fan), `CodeExpired`, `TooManyAttempts` and `WrongCode` (with the tries left;
    also for every code of a challenge whose reference and address did not match).
    """
    rules = rules or VerificationRules()
    now = now or utcnow()
    digits = check_code(code)
    with write_session(db) as session:
        customer_id = lookup_customer(session, customer)
        challenge = session.get(OrderVerification, challenge_id) if challenge_id else None
        if challenge is None or customer_id is None or challenge.customer_id != customer_id:
            raise NotFound("no verification in progress", field="challenge_id")
        if challenge.verified_at is not None:
            raise CodeExpired("this code was used already; start again")
        if challenge.attempts >= rules.max_attempts:
            raise TooManyAttempts("too many wrong codes; start again")
        if challenge.expires_at <= now:
            raise CodeExpired("the code has expired; start again")
        by_order, by_email = _recent_failures(session, challenge, now)
        if (
            by_order >= rules.failures_per_order_per_hour
            or by_email >= rules.failures_per_email_per_hour
        ):
            raise TooManyAttempts("too many wrong codes for this order; try again in an hour")
        # Hash even when nothing matched, so both kinds of challenge take the same time.
        given = _hash_code(digits, challenge.code_salt)
        right = challenge.code_hash is not None and hmac.compare_digest(given, challenge.code_hash)
        refused: VerificationError | None = None
        verified: Verified | None = None
        if not right:
            challenge.attempts += 1
            left = rules.max_attempts - challenge.attempts
            refused = (
                WrongCode("that code is not right", attempts_left=left)
                if left > 0
                else TooManyAttempts("too many wrong codes; start again")
            )
        else:
            order = session.get(Order, challenge.order_id) if challenge.order_id else None
            assert order is not None  # a challenge with a code always names its order
            challenge.verified_at = now
            link_order(session, order, customer_id)
            verified = Verified(order_ref=order.ref, customer_id=customer_id)
    # Outside the transaction: a wrong code's counted attempt is committed, then refused.
    if refused is not None:
        raise refused
    assert verified is not None
    return verified


def _recent_failures(
    session: Session, challenge: OrderVerification, now: datetime
) -> tuple[int, int]:
    """Wrong codes in the last hour over every challenge for the same order, and for the
    same address: a guesser cannot spread guesses over many chats. Both queries run for
    every challenge, matched or not."""
    hour_ago = now - timedelta(hours=1)
    failures = func.coalesce(func.sum(OrderVerification.attempts), 0)
    recent = OrderVerification.created_at > hour_ago
    by_order = session.scalar(
        select(failures).where(OrderVerification.order_id == challenge.order_id, recent)
    )
    by_email = session.scalar(
        select(failures).where(OrderVerification.email_digest == challenge.email_digest, recent)
    )
    return int(by_order or 0), int(by_email or 0)


def link_order(session: Session, order: Order, customer_id: int) -> None:
    """Move `order` to the fan `customer_id`, with the tickets its buyer still holds.

    Tickets passed on to other fans stay theirs; the buyer's seat claims move too,
    so per-fan limits count the seats where they now belong.
    """
    old = order.customer_id
    if old == customer_id:
        return
    session.execute(update(Order).where(Order.id == order.id).values(customer_id=customer_id))
    session.execute(
        update(Ticket)
        .where(Ticket.order_id == order.id, Ticket.holder_id == old)
        .values(holder_id=customer_id)
    )
    session.execute(
        update(SeatClaim)
        .where(SeatClaim.hold_id == order.hold_id, SeatClaim.customer_id == old)
        .values(customer_id=customer_id)
    )
    session.expire(order)
