"""Fans and their channel identities (`tg:12345`, `web:<session>`, `email:a@b.c`, `api:<id>`).

A fan is created the first time one of their external ids is seen. Identities
never move between fans, so the id lookup is cached per process.
"""

from __future__ import annotations

import re
import threading
import weakref

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import engine_of, write_session
from ticketing.errors import InvalidRequest
from ticketing.models import Customer, CustomerIdentity

EXTERNAL_ID = re.compile(r"^[a-z][a-z0-9_]{0,15}:[^\s]{1,140}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# An address inside a fan's sentence, with or without spaces around it ("我的邮箱a@b.cn").
EMAIL_IN_TEXT = re.compile(
    r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)


def email_in(text: str) -> str | None:
    """The first e-mail address written in `text` (any language around it), or None."""
    found = EMAIL_IN_TEXT.search(text)
    return found.group(0) if found else None


_CACHE_LIMIT = 200_000

_cache: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def check_external_id(external_id: str, field: str = "customer") -> str:
    """Validate an external id (`kind:value`, no spaces, at most 157 characters)."""
    if not isinstance(external_id, str) or not EXTERNAL_ID.match(external_id):
        raise InvalidRequest(
            f"{field}: expected an external id such as 'tg:12345' or 'web:<session>'",
            field=field,
        )
    return external_id


def normalize_email(text: str, field: str = "email") -> str:
    """An e-mail address as the engine compares it (trimmed, lower case).

    Raises `InvalidRequest` naming `field` when the text is not an address.
    """
    address = text.strip().lower() if isinstance(text, str) else ""
    if len(address) > 254 or not EMAIL.match(address):
        raise InvalidRequest(
            f"{field}: expected an e-mail address such as fan@example.com", field=field
        )
    return address


def emails_of(session: Session, customer_id: int) -> set[str]:
    """The fan's e-mail addresses: the one on file and any `email:` identity, normalised."""
    found = set()
    email = session.scalar(select(Customer.email).where(Customer.id == customer_id))
    if email:
        found.add(email.strip().lower())
    ids = session.scalars(
        select(CustomerIdentity.external_id).where(
            CustomerIdentity.customer_id == customer_id,
            CustomerIdentity.external_id.like("email:%"),
        )
    )
    found.update(external_id.removeprefix("email:").strip().lower() for external_id in ids)
    return found


def _cached(engine: Engine, external_id: str) -> int | None:
    with _cache_lock:
        return _cache.get(engine, {}).get(external_id)


def _remember(engine: Engine, external_id: str, customer_id: int) -> None:
    with _cache_lock:
        ids = _cache.setdefault(engine, {})
        if len(ids) >= _CACHE_LIMIT:
            ids.clear()
        ids[external_id] = customer_id


def lookup_customer(session: Session, external_id: str) -> int | None:
    """The fan behind `external_id`, or None if never seen (nothing is created)."""
    check_external_id(external_id)
    engine = session.get_bind()
    if isinstance(engine, Engine):
        known = _cached(engine, external_id)
        if known is not None:
            return known
    found = session.scalar(
        select(CustomerIdentity.customer_id).where(CustomerIdentity.external_id == external_id)
    )
    if found is not None and isinstance(engine, Engine):
        _remember(engine, external_id, found)
    return found


def resolve_customer(
    db: sessionmaker[Session], external_id: str, *, email: str | None = None
) -> int:
    """The fan behind `external_id`, created on first use; returns the internal id."""
    check_external_id(external_id)
    engine = engine_of(db)
    known = _cached(engine, external_id)
    if known is not None and email is None:
        return known
    with db() as session:
        found = lookup_customer(session, external_id)
    if found is not None and email is None:
        return found
    try:
        with write_session(db) as session:
            found = session.scalar(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.external_id == external_id
                )
            )
            if found is None:
                now = utcnow()
                found = session.execute(
                    insert(Customer)
                    .values(email=email, is_member=False, created_at=now)
                    .returning(Customer.id)
                ).scalar_one()
                session.execute(
                    insert(CustomerIdentity).values(
                        external_id=external_id, customer_id=found, created_at=now
                    )
                )
            elif email is not None:
                session.execute(update(Customer).where(Customer.id == found).values(email=email))
    except IntegrityError:
        # Another request created the same fan a moment ago: use theirs.
        with db() as session:
            found = session.scalar(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.external_id == external_id
                )
            )
        if found is None:
            raise
    _remember(engine, external_id, found)
    return found


def known_customer(db: sessionmaker[Session], external_id: str) -> int | None:
    """The fan's id if this process has seen them (no query); None says nothing."""
    return _cached(engine_of(db), external_id)


def remember_customer(
    db: sessionmaker[Session] | Engine, external_id: str, customer_id: int
) -> None:
    """Cache a committed fan's id (call it only after the transaction that made it committed)."""
    engine = db if isinstance(db, Engine) else engine_of(db)
    _remember(engine, external_id, customer_id)


def set_member(db: sessionmaker[Session], customer: str, member: bool = True) -> None:
    """Mark the fan as a member of the club (presale access, members' discount) or not."""
    customer_id = resolve_customer(db, customer)
    with write_session(db) as session:
        session.execute(update(Customer).where(Customer.id == customer_id).values(is_member=member))


def primary_external_id(session: Session, customer_id: int) -> str:
    """The first external id a fan was seen with (for notifications and answers)."""
    found = session.scalar(
        select(CustomerIdentity.external_id)
        .where(CustomerIdentity.customer_id == customer_id)
        .order_by(CustomerIdentity.created_at, CustomerIdentity.external_id)
        .limit(1)
    )
    return found or f"customer:{customer_id}"
