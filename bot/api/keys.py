"""Scoped server-to-server API keys: made, listed, revoked, and recognised on each call.

A key is `mdk_` and 43 URL-safe characters (256 random bits), shown once when it is
made. The database keeps its SHA-256 and its first characters (`prefix`, so that
`desk api-keys list` can tell keys apart), never the key: a salt or a slow hash would
add nothing, since the key is random rather than chosen by a person.

Each key has one scope:

- `gate`: what a turnstile scanner needs (scan a ticket, download the signing keys
  and the revocation list);
- `read`: looking things up (fixtures, a fan's orders and tickets, holds, triage),
  for dashboards and reporting;
- `full`: everything, including writing for fans (messages, holds, payments,
  refunds, transfers, exchanges): the club's own systems. `MATCHDAY_API_KEY` from
  `.env` is a `full` key that is not in the table.

Recognising a key (`KeyChecker`) costs no database round trip most of the time: a key
found in the table is remembered by the process for REMEMBER_S seconds and then read
again, so a revocation takes effect in every gateway process within REMEMBER_S. Expiry
is checked on every call against the remembered time. `last_used_at` is written at most
once per TOUCH_EVERY per key, so a busy key does not write on each request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.api.models import ApiKey
from core.clock import utcnow
from core.db import read_session, write_session

Scope = Literal["gate", "read", "full"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
KEY_PREFIX = "mdk_"
PREFIX_CHARS = 12  # stored and listed: `mdk_` and 8 of the key's random characters
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
REMEMBER_S = 5.0  # the bound on how long a revoked key may still open a gateway process
TOUCH_EVERY = timedelta(minutes=1)


class ApiKeyError(Exception):
    """Base class: `code` is the machine-readable error code."""

    code = "api_key_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidKeySpec(ApiKeyError):
    """A name, scope, expiry or hold budget the desk refuses for a new key."""

    code = "invalid_value"


class DuplicateKeyName(ApiKeyError):
    """Another key (revoked ones too) already has this name."""

    code = "conflict"


class UnknownKeyName(ApiKeyError):
    """No key has this name."""

    code = "not_found"


class KeyRefused(ApiKeyError):
    """The presented key is unknown, revoked or expired."""

    code = "unauthorized"


@dataclass(frozen=True)
class Caller:
    """Who is calling the server-to-server API (`key_id` None: MATCHDAY_API_KEY)."""

    key_id: int | None
    name: str
    scope: str
    hold_budget: int | None

    def allows(self, needed: Scope) -> bool:
        """Whether this caller's scope covers a route that needs `needed`."""
        return self.scope == "full" or self.scope == needed


@dataclass(frozen=True)
class KeyView:
    """A key as `desk api-keys list` shows it (never the key itself)."""

    id: int
    name: str
    scope: str
    prefix: str
    hold_budget: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def refusal(self, now: datetime) -> str | None:
        """Why the key opens nothing at `now` (revoked, expired), or None when it is valid."""
        if self.revoked_at is not None:
            return "This API key has been revoked."
        if self.expires_at is not None and now >= self.expires_at:
            return f"This API key expired at {self.expires_at:%Y-%m-%d %H:%M} UTC."
        return None

    def caller(self) -> Caller:
        return Caller(self.id, self.name, self.scope, self.hold_budget)


def _view(row: ApiKey) -> KeyView:
    return KeyView(
        id=row.id,
        name=row.name,
        scope=row.scope,
        prefix=row.prefix,
        hold_budget=row.hold_budget,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def key_hash(key: str) -> str:
    """The SHA-256 (hex) under which `key` is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    sessions: sessionmaker[Session],
    name: str,
    scope: str,
    *,
    expires_at: datetime | None = None,
    hold_budget: int | None = None,
    now: datetime | None = None,
) -> tuple[KeyView, str]:
    """Make a key; returns it as listed and the key itself (the only time it is seen).

    Raises InvalidKeySpec for a bad name, scope, expiry or budget (a budget caps holds,
    which only a `full` key makes), DuplicateKeyName when the name is taken.
    """
    now = now or utcnow()
    if not NAME.match(name):
        raise InvalidKeySpec("name: 1-64 letters, digits, '.', '_' or '-'")
    if scope not in SCOPES:
        raise InvalidKeySpec(f"scope: one of {', '.join(SCOPES)}")
    if expires_at is not None and expires_at <= now:
        raise InvalidKeySpec("expires: must be in the future")
    if hold_budget is not None and hold_budget < 1:
        raise InvalidKeySpec("hold budget: at least 1")
    if hold_budget is not None and scope != "full":
        raise InvalidKeySpec("hold budget: only a full key makes holds")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        scope=scope,
        key_hash=key_hash(key),
        prefix=key[:PREFIX_CHARS],
        hold_budget=hold_budget,
        created_at=now,
        expires_at=expires_at,
    )
    try:
        with write_session(sessions) as session:
            if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
                raise DuplicateKeyName(f"a key named {name!r} exists (revoked keys keep names)")
            session.add(row)
            session.flush()
            view = _view(row)
    except IntegrityError as exc:  # made by someone else at the same moment
        raise DuplicateKeyName(f"a key named {name!r} exists") from exc
    return view, key


def list_keys(session: Session) -> list[KeyView]:
    """Every key, revoked and expired ones too, oldest first."""
    rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
    return [_view(row) for row in rows]


def revoke_key(sessions: sessionmaker[Session], name: str, now: datetime | None = None) -> bool:
    """Revoke the key named `name` for good; False when it already was.

    Gateways refuse it within REMEMBER_S. Raises UnknownKeyName.
    """
    with write_session(sessions) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == name))
        if row is None:
            raise UnknownKeyName(f"no key named {name!r}")
        if row.revoked_at is not None:
            return False
        row.revoked_at = now or utcnow()
    return True


def find_key(sessions: sessionmaker[Session], digest: str) -> KeyView | None:
    """The key stored under `digest` (see `key_hash`), if any."""
    with read_session(sessions) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        return None if row is None else _view(row)


def touch_key(sessions: sessionmaker[Session], key_id: int, now: datetime) -> bool:
    """Set the key's `last_used_at` to `now` unless it was set less than TOUCH_EVERY ago
    (by any process); True when it wrote."""
    with write_session(sessions) as session:
        result = session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - TOUCH_EVERY),
            )
            .values(last_used_at=now)
        )
    return bool(getattr(result, "rowcount", 0))


@dataclass
class _Known:
    view: KeyView
    read_at: float  # on the checker's monotonic clock
    touched_at: datetime | None  # last_used_at as this process last wrote or read it


class KeyChecker:
    """Recognises scoped keys for one gateway process (see the module docstring).

    `cached()` answers from memory, without I/O, when it can; `check()` reads (and
    touches) the database and is blocking: call it in a worker thread.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        remember_s: float = REMEMBER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._remember_s = remember_s
        self._clock = clock
        # Only keys found in the table are remembered: its size bounds this dict.
        self._known: dict[str, _Known] = {}

    def cached(self, key: str, now: datetime) -> Caller | None:
        """The caller, from memory; None when `check()` must run (a key not remembered,
        remembered too long ago, or due a `last_used_at` write).

        Raises KeyRefused for what is no key of ours, or a remembered key that is
        revoked or expired."""
        if not key.startswith(KEY_PREFIX):
            raise KeyRefused("Invalid API key.")
        known = self._known.get(key_hash(key))
        if known is None or self._clock() - known.read_at >= self._remember_s:
            return None
        refusal = known.view.refusal(now)
        if refusal is not None:
            raise KeyRefused(refusal)
        if known.touched_at is None or now - known.touched_at >= TOUCH_EVERY:
            return None
        return known.view.caller()

    def check(self, key: str, now: datetime) -> Caller:
        """The caller, read from the database (and `last_used_at` written when due).

        Raises KeyRefused for an unknown, revoked or expired key."""
        if not key.startswith(KEY_PREFIX):
            raise KeyRefused("Invalid API key.")
        digest = key_hash(key)
        view = find_key(self._sessions, digest)
        if view is None:
            self._known.pop(digest, None)
            raise KeyRefused("Invalid API key.")
        touched_at = view.last_used_at
        refusal = view.refusal(now)
        if refusal is None and (touched_at is None or now - touched_at >= TOUCH_EVERY):
            touch_key(self._sessions, view.id, now)
            touched_at = now
        self._known[digest] = _Known(view, self._clock(), touched_at)
        if refusal is not None:
            raise KeyRefused(refusal)
        return view.caller()
