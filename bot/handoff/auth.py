"""Agent authentication: argon2id password hashes, expiring sessions, CSRF tokens and
the login rate limit.

A session is a random bearer token; only its SHA-256 is stored, so a copy of the
database does not let anyone in. The same token works as `Authorization: Bearer` (API
clients) or as the console's HttpOnly cookie; cookie requests that change something
must also carry the session's CSRF token (`X-CSRF-Token`).

Sign-in throttling. Every password check (a login, or the current password of a
password change) is counted in `sign_in_failures` per username, client address and
minute before the password is verified, and admitted only while these hold:

- one username from one address: fewer than `MAX_FAILURES_PER_PAIR` (5) in the last
  `THROTTLE_WINDOW` (5 minutes); then that pair is locked for the rest of the window,
  while the agent can still sign in from anywhere else;
- one address, any usernames: fewer than `MAX_FAILURES_PER_ADDRESS` (20) in the same
  window (a sweep over many usernames);
- one username, all addresses together: once `MAX_FAILURES_PER_USERNAME` (50) failures
  fell in the last `USERNAME_WINDOW` (15 minutes), one check per minute for that
  username (a backoff, not a lockout: a guesser with many addresses gets one guess a
  minute, and the agent keeps a chance to sign in every minute).

The check and the count are one transaction that holds two named locks (the address's,
then the username's: the sale store's `lock_source`, an advisory lock on PostgreSQL and
the write lock on SQLite), so parallel attempts cannot race past a limit: of N
simultaneous wrong passwords from one address at most `MAX_FAILURES_PER_PAIR` are
verified. A correct password takes its own count back (a sign-in is not a failure), so
an office behind one address does not use up its cap by signing in; a refused attempt
is not counted, so hammering a lock does not prolong it. Unknown usernames are counted
like known ones and cost the same time (a dummy hash is verified). Refusals are counted
per minute as `sign_in_locked` in the risk counters; failed logins are also audit rows.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff import audit
from bot.handoff.errors import Forbidden, InvalidInput, NotAuthenticated, RateLimited
from bot.handoff.models import ROLES, Agent, AgentSession, SignInFailure
from core.clock import utcnow
from core.db import conflict_insert, database_kind, read_session, rowcount, write_session
from ticketing.risk import minute_of, record_refusal
from ticketing.store import store_for

log = logging.getLogger("matchday.handoff")
Role = Literal["agent", "supervisor", "admin"]
SESSION_TTL = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=15)
MIN_PASSWORD_LENGTH = 10
# Sign-in throttling (see the module docstring). A failure counts in its minute's
# bucket while the bucket started less than the window ago.
THROTTLE_WINDOW = timedelta(minutes=5)
MAX_FAILURES_PER_PAIR = 5  # one username from one address
MAX_FAILURES_PER_ADDRESS = 20  # any usernames from one address
USERNAME_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 50  # one username from all addresses; then one check a minute
BACKOFF_STEP = timedelta(minutes=1)
UNKNOWN_ADDRESS = "unknown"  # a caller without an address (counted together)

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile defaults
# Verified when the username is unknown, so a wrong username costs the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_RANK = {role: rank for rank, role in enumerate(ROLES)}


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (the only form in which it is stored)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The agent behind a request."""

    agent_id: int
    username: str
    display_name: str
    role: Role
    languages: tuple[str, ...]
    session_hash: str
    csrf_token: str
    expires_at: datetime

    def at_least(self, role: Role) -> bool:
        """True when the agent's role is `role` or above (agent < supervisor < admin)."""
        return _RANK[self.role] >= _RANK[role]

    def require(self, role: Role) -> None:
        """Raise `Forbidden` unless the agent has `role` or above."""
        if not self.at_least(role):
            raise Forbidden(f"this needs the {role} role", code="role_required")

    def speaks(self, language: str | None) -> bool:
        """Whether the agent takes conversations in `language` (supervisors take all)."""
        return language is None or language in self.languages or self.at_least("supervisor")


@dataclass(frozen=True)
class NewSession:
    """A successful login: the token is shown once and never stored."""

    token: str
    csrf_token: str
    expires_at: datetime
    principal: Principal


def _principal(agent: Agent, row: AgentSession) -> Principal:
    return Principal(
        agent_id=agent.id,
        username=agent.username,
        display_name=agent.display_name,
        role=agent.role,  # type: ignore[arg-type]
        languages=tuple(agent.languages or ()),
        session_hash=row.token_hash,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )


@dataclass(frozen=True)
class _Attempt:
    """A password check that was admitted and counted (in `minute`'s bucket)."""

    username: str
    address: str
    minute: datetime


def _buckets(
    session: Session, since: datetime, *, username: str | None = None, address: str | None = None
) -> list[tuple[datetime, int]]:
    """Failures per minute after `since`, oldest first, for a username and/or address."""
    query = (
        select(SignInFailure.minute, func.sum(SignInFailure.count))
        .where(SignInFailure.minute > since)
        .group_by(SignInFailure.minute)
        .order_by(SignInFailure.minute)
    )
    if username is not None:
        query = query.where(SignInFailure.username == username)
    if address is not None:
        query = query.where(SignInFailure.address == address)
    return [(minute, int(count or 0)) for minute, count in session.execute(query).tuples()]


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _locked_for(
    buckets: Sequence[tuple[datetime, int]], limit: int, window: timedelta, now: datetime
) -> int | None:
    """Seconds until fewer than `limit` failures are left in the window, or None if
    there are fewer already."""
    left = sum(count for _, count in buckets)
    for minute, count in buckets:
        if left < limit:
            break
        left -= count
        if left < limit:
            return _seconds_until(minute + window, now)
    return None


def _lockout(session: Session, attempt: _Attempt, now: datetime) -> int | None:
    """Seconds to wait before `attempt` may check a password, or None if it may now."""
    since = now - THROTTLE_WINDOW
    waits = [
        _locked_for(
            _buckets(session, since, username=attempt.username, address=attempt.address),
            MAX_FAILURES_PER_PAIR,
            THROTTLE_WINDOW,
            now,
        ),
        _locked_for(
            _buckets(session, since, address=attempt.address),
            MAX_FAILURES_PER_ADDRESS,
            THROTTLE_WINDOW,
            now,
        ),
    ]
    by_username = _buckets(session, now - USERNAME_WINDOW, username=attempt.username)
    if sum(count for _, count in by_username) >= MAX_FAILURES_PER_USERNAME and any(
        minute == attempt.minute and count > 0 for minute, count in by_username
    ):
        waits.append(_seconds_until(attempt.minute + BACKOFF_STEP, now))
    found = [wait for wait in waits if wait is not None]
    return max(found) if found else None


def _count(session: Session, attempt: _Attempt) -> None:
    """Add the attempt to its bucket: one atomic upsert."""
    statement = conflict_insert(database_kind(session), SignInFailure).values(
        username=attempt.username, address=attempt.address, minute=attempt.minute, count=1
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[SignInFailure.username, SignInFailure.address, SignInFailure.minute],
            set_={"count": SignInFailure.count + 1},
        )
    )


def _uncount(session: Session, attempt: _Attempt) -> None:
    """Take an admitted attempt back out of its bucket: the password was right."""
    session.execute(
        update(SignInFailure)
        .where(
            SignInFailure.username == attempt.username,
            SignInFailure.address == attempt.address,
            SignInFailure.minute == attempt.minute,
            SignInFailure.count > 0,
        )
        .values(count=SignInFailure.count - 1)
    )


def _admit(sessions: sessionmaker[Session], username: str, address: str | None) -> _Attempt:
    """Count a password check about to be made, or raise `RateLimited` (uncounted) if a
    limit of the module docstring is reached. Check and count are atomic."""
    now = utcnow()
    attempt = _Attempt(username[:64], (address or UNKNOWN_ADDRESS)[:64], minute_of(now))
    with write_session(sessions) as session:
        store = store_for(session)
        # Always the address's lock first, then the username's: no deadlock.
        store.lock_source(session, f"sign-in address {attempt.address}")
        store.lock_source(session, f"sign-in username {attempt.username}")
        wait = _lockout(session, attempt, now)
        if wait is None:
            _count(session, attempt)
            # Buckets no window reads any more; only this address's (whose lock we hold).
            session.execute(
                delete(SignInFailure).where(
                    SignInFailure.address == attempt.address,
                    SignInFailure.minute <= now - USERNAME_WINDOW,
                )
            )
    if wait is not None:
        record_refusal(sessions, 0, "sign_in_locked", now)
        log.info("sign-in for %r from %s refused for %d s", username[:64], address, wait)
        raise RateLimited("Too many failed sign-ins; try again later.", wait)
    return attempt


def login(
    sessions: sessionmaker[Session], username: str, password: str, ip: str | None
) -> NewSession:
    """Check the credentials and open a 12-hour session; `NotAuthenticated` if wrong."""
    username = username.strip()
    attempt = _admit(sessions, username, ip)
    with read_session(sessions) as session:
        agent = session.scalar(select(Agent).where(Agent.username == username))
    ok = verify_password(agent.password_hash if agent else _DUMMY_HASH, password)
    with write_session(sessions) as session:
        if agent is None or not ok or not agent.active:
            audit.record(session, "login_failed", username=username or "?", ip=ip)
            failed = True
        else:
            failed = False
            _uncount(session, attempt)
            token = secrets.token_urlsafe(32)
            now = utcnow()
            row = AgentSession(
                token_hash=token_hash(token),
                agent_id=agent.id,
                csrf_token=secrets.token_urlsafe(24),
                created_at=now,
                expires_at=now + SESSION_TTL,
                last_seen_at=now,
            )
            session.add(row)
            audit.record(session, "login", username=agent.username, agent_id=agent.id, ip=ip)
    if failed:
        log.warning("failed sign-in for %r from %s", username[:64], ip)
        raise NotAuthenticated("Wrong username or password.", code="invalid_credentials")
    assert agent is not None
    log.info("%s signed in from %s", agent.username, ip)
    return NewSession(token, row.csrf_token, row.expires_at, _principal(agent, row))


def authenticate(sessions: sessionmaker[Session], token: str) -> Principal:
    """The agent of a valid, unexpired session token (its activity time refreshed)."""
    digest = token_hash(token)
    now = utcnow()
    with read_session(sessions) as session:
        row = session.get(AgentSession, digest)
        agent = session.get(Agent, row.agent_id) if row is not None else None
    if row is None or agent is None or not agent.active:
        raise NotAuthenticated("Not signed in (unknown session).", code="invalid_session")
    if row.revoked_at is not None or row.expires_at <= now:
        raise NotAuthenticated("The session has ended; sign in again.", code="session_expired")
    if now - row.last_seen_at >= TOUCH_EVERY:
        touch(sessions, digest)
    return _principal(agent, row)


def touch(sessions: sessionmaker[Session], session_hash: str) -> None:
    """Mark the session active now (presence: the agent is online)."""
    with write_session(sessions) as session:
        session.execute(
            update(AgentSession)
            .where(AgentSession.token_hash == session_hash)
            .values(last_seen_at=utcnow())
        )


def logout(sessions: sessionmaker[Session], principal: Principal, ip: str | None) -> None:
    """End the session (the agent is offline from now on)."""
    with write_session(sessions) as session:
        session.execute(
            update(AgentSession)
            .where(AgentSession.token_hash == principal.session_hash)
            .values(revoked_at=utcnow())
        )
        audit.record(
            session, "logout", username=principal.username, agent_id=principal.agent_id, ip=ip
        )


def end_sessions(session: Session, agent_id: int, *, keep: str | None = None) -> int:
    """Revoke the agent's live sessions (all, or all but the one hashed `keep`) in the
    caller's transaction; returns how many. Their next request answers 401, and their
    console sockets close at the next message or heartbeat."""
    now = utcnow()
    query = update(AgentSession).where(
        AgentSession.agent_id == agent_id,
        AgentSession.revoked_at.is_(None),
        AgentSession.expires_at > now,
    )
    if keep is not None:
        query = query.where(AgentSession.token_hash != keep)
    return rowcount(session.execute(query.values(revoked_at=now)))


def check_new_password(password: str, field: str = "password") -> None:
    """Raise `InvalidInput` for a password too short to be set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"{field}: passwords need at least {MIN_PASSWORD_LENGTH} characters", field=field
        )


def change_password(
    sessions: sessionmaker[Session], principal: Principal, current: str, new: str, ip: str | None
) -> int:
    """Set the signed-in agent's password; every other session of theirs ends (returns
    how many), this one stays. A wrong `current` is `Forbidden` and counts as a failed
    sign-in (so it is throttled like one)."""
    check_new_password(new, "new_password")
    attempt = _admit(sessions, principal.username, ip)
    with read_session(sessions) as session:
        agent = session.get(Agent, principal.agent_id)
    if agent is None or not verify_password(agent.password_hash, current):
        with write_session(sessions) as session:
            audit.record(
                session,
                "password_change_failed",
                username=principal.username,
                agent_id=principal.agent_id,
                ip=ip,
            )
        log.warning("wrong current password of %s from %s", principal.username, ip)
        raise Forbidden("The current password is wrong.", code="wrong_password")
    new_hash = hash_password(new)
    with write_session(sessions) as session:
        _uncount(session, attempt)
        session.execute(
            update(Agent).where(Agent.id == principal.agent_id).values(password_hash=new_hash)
        )
        ended = end_sessions(session, principal.agent_id, keep=principal.session_hash)
        audit.record(
            session,
            "password_changed",
            username=principal.username,
            agent_id=principal.agent_id,
            ip=ip,
            sessions_ended=ended,
        )
    log.info("%s changed their password; %d other session(s) ended", principal.username, ended)
    return ended


def check_csrf(principal: Principal, presented: str | None) -> None:
    """Cookie-authenticated changes must present the session's CSRF token."""
    # As bytes: compare_digest raises on non-ASCII text, and a header may carry any byte.
    if not presented or not secrets.compare_digest(
        presented.encode(), principal.csrf_token.encode()
    ):
        raise Forbidden("Missing or wrong X-CSRF-Token header.", code="csrf_failed")
