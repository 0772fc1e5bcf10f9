"""Agent authentication: argon2id password hashes, expiring sessions, CSRF tokens and
the login rate limit.

A session is a random bearer token; only its SHA-256 is stored, so a copy of the
database does not let anyone in. The same token works as `Authorization: Bearer` (API
clients) or as the console's HttpOnly cookie; cookie requests that change something
must also carry the session's CSRF token (`X-CSRF-Token`). Failed logins are audit
rows, and the rate limit counts them, so it survives restarts.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff import audit
from bot.handoff.errors import Forbidden, NotAuthenticated, RateLimited
from bot.handoff.models import ROLES, Agent, AgentSession
from core.clock import utcnow
from core.db import read_session, write_session

log = logging.getLogger("matchday.handoff")
Role = Literal["agent", "supervisor", "admin"]
SESSION_TTL = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=15)
LOGIN_WINDOW_S = 300
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20
MIN_PASSWORD_LENGTH = 10

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


def _check_rate(session: Session, username: str, ip: str | None) -> None:
    since = audit.window_start(LOGIN_WINDOW_S)
    by_user = audit.count_since(session, "login_failed", since, username=username)
    by_ip = audit.count_since(session, "login_failed", since, ip=ip) if ip else 0
    if by_user >= MAX_FAILURES_PER_USER or by_ip >= MAX_FAILURES_PER_IP:
        raise RateLimited("Too many failed logins; wait a few minutes.", LOGIN_WINDOW_S)


def login(
    sessions: sessionmaker[Session], username: str, password: str, ip: str | None
) -> NewSession:
    """Check the credentials and open a 12-hour session; `NotAuthenticated` if wrong."""
    username = username.strip()
    with read_session(sessions) as session:
        _check_rate(session, username, ip)
        agent = session.scalar(select(Agent).where(Agent.username == username))
    ok = verify_password(agent.password_hash if agent else _DUMMY_HASH, password)
    with write_session(sessions) as session:
        if agent is None or not ok or not agent.active:
            audit.record(session, "login_failed", username=username or "?", ip=ip)
            failed = True
        else:
            failed = False
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


def check_csrf(principal: Principal, presented: str | None) -> None:
    """Cookie-authenticated changes must present the session's CSRF token."""
    # As bytes: compare_digest raises on non-ASCII text, and a header may carry any byte.
    if not presented or not secrets.compare_digest(
        presented.encode(), principal.csrf_token.encode()
    ):
        raise Forbidden("Missing or wrong X-CSRF-Token header.", code="csrf_failed")
