"""Agents: creating them, looking them up, and who is online right now.

An agent is online while one of their sessions is unexpired, not signed out, and was
active (an API call or the console's WebSocket heartbeat) within the policy's
`presence_timeout_s`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff import audit
from bot.handoff.auth import Role, check_new_password, end_sessions, hash_password
from bot.handoff.errors import Conflict, InvalidInput, NotFound
from bot.handoff.models import ROLES, Agent, AgentSession, Handoff
from core.clock import utcnow
from core.db import write_session
from knowledge.language import LANGUAGES

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")


@dataclass(frozen=True)
class AgentView:
    """An agent as the supervisor view shows them."""

    id: int
    username: str
    display_name: str
    role: str
    languages: list[str]
    online: bool
    last_seen_at: datetime | None
    open_conversations: int


def create_agent(
    sessions: sessionmaker[Session],
    username: str,
    password: str,
    role: Role,
    *,
    languages: list[str] | None = None,
    display_name: str | None = None,
    created_by: str = "cli",
) -> int:
    """Create an agent (password stored as an argon2id hash only); returns the id."""
    if not USERNAME.match(username):
        raise InvalidInput(
            "username: 2-64 lowercase letters, digits, '.', '_' or '-'", field="username"
        )
    if role not in ROLES:
        raise InvalidInput(f"role: one of {', '.join(ROLES)}", field="role")
    languages = list(languages or LANGUAGES)
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise InvalidInput(f"languages: choose from {', '.join(LANGUAGES)}", field="languages")
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="password") from exc
    try:
        with write_session(sessions) as session:
            agent = Agent(
                username=username,
                display_name=display_name or username,
                password_hash=password_hash,
                role=role,
                languages=languages,
                active=True,
            )
            session.add(agent)
            session.flush()
            audit.record(
                session,
                "agent_created",
                username=created_by,
                created=username,
                role=role,
                languages=languages,
            )
            return agent.id
    except IntegrityError as exc:
        raise Conflict(f"an agent named {username!r} exists", code="username_taken") from exc


def agent_named(session: Session, username: str) -> Agent:
    """The agent with `username`, or `NotFound`."""
    agent = session.scalar(select(Agent).where(Agent.username == username))
    if agent is None:
        raise NotFound(f"no agent {username!r}", field="username")
    return agent


def set_active(
    sessions: sessionmaker[Session], username: str, active: bool, *, by: str = "cli"
) -> int:
    """Let the agent sign in again, or stop them: deactivating ends every session of
    theirs at once (returns how many ended). Audit-logged."""
    with write_session(sessions) as session:
        agent = agent_named(session, username)
        agent.active = active
        ended = 0 if active else end_sessions(session, agent.id)
        audit.record(
            session,
            "agent_activated" if active else "agent_deactivated",
            username=by,
            agent=username,
            sessions_ended=ended,
        )
    return ended


def reset_password(
    sessions: sessionmaker[Session], username: str, password: str, *, by: str = "cli"
) -> int:
    """An admin's reset: a new password, and every session of the agent ends (returns
    how many). Audit-logged."""
    check_new_password(password)
    password_hash = hash_password(password)
    with write_session(sessions) as session:
        agent = agent_named(session, username)
        agent.password_hash = password_hash
        ended = end_sessions(session, agent.id)
        audit.record(session, "password_reset", username=by, agent=username, sessions_ended=ended)
    return ended


def online_since(presence_timeout_s: float) -> datetime:
    """Sessions active after this moment count as online."""
    return utcnow() - timedelta(seconds=presence_timeout_s)


def online_agent_ids(
    session: Session, presence_timeout_s: float, language: str | None = None
) -> set[int]:
    """Ids of agents online now (who speak `language`, or supervisors, when given)."""
    now = utcnow()
    rows = session.execute(
        select(Agent.id, Agent.role, Agent.languages)
        .join(AgentSession, AgentSession.agent_id == Agent.id)
        .where(
            Agent.active.is_(True),
            AgentSession.revoked_at.is_(None),
            AgentSession.expires_at > now,
            AgentSession.last_seen_at >= online_since(presence_timeout_s),
        )
    ).all()
    return {
        agent_id
        for agent_id, role, languages in rows
        if language is None or role != "agent" or language in (languages or [])
    }


def list_agents(session: Session, presence_timeout_s: float) -> list[AgentView]:
    """Every active agent with presence and current load."""
    online = online_agent_ids(session, presence_timeout_s)
    last_seen = dict(
        session.execute(
            select(AgentSession.agent_id, func.max(AgentSession.last_seen_at)).group_by(
                AgentSession.agent_id
            )
        ).all()
    )
    load = dict(
        session.execute(
            select(Handoff.owner_id, func.count(Handoff.id))
            .where(Handoff.status == "with_agent")
            .group_by(Handoff.owner_id)
        ).all()
    )
    agents = session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.username))
    return [
        AgentView(
            id=a.id,
            username=a.username,
            display_name=a.display_name,
            role=a.role,
            languages=list(a.languages or []),
            online=a.id in online,
            last_seen_at=last_seen.get(a.id),
            open_conversations=int(load.get(a.id, 0)),
        )
        for a in agents
    ]
