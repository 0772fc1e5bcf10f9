"""Tables of the human handoff: agents, their sessions, the queue, notes, callbacks,
knowledge drafts, the router's per-conversation memory and the audit log.

They share the gateway's declarative base (and so its migrations history) because a
handoff is a state of a conversation; migrations `h001...` create them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base

ROLES = ("agent", "supervisor", "admin")
OPEN_STATES = ("queued", "with_agent")


class Agent(Base):
    """A person who answers fans in the console. Only an argon2id hash of the password is kept."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    languages: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentSession(Base):
    """A login: the sha256 of its bearer token, its CSRF token, expiry and last activity."""

    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Handoff(Base):
    """One escalation of a conversation, from queued until handed back or closed.

    `status` is queued → with_agent → handed_back | closed (or cancelled). At most one
    handoff of a conversation is open (queued or with_agent) at a time; claims are
    conditional updates on `status`, so two agents can never both win.
    """

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_status_priority", "status", "priority", "queued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(default=0)
    profile: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str | None] = mapped_column(String(32))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class RouterMemory(Base):
    """What the router remembers of a conversation between turns (persisted for restarts)."""

    __tablename__ = "handoff_router_memory"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    turns: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    profile: Mapped[str | None] = mapped_column(String(32))
    customer: Mapped[str | None] = mapped_column(String(160))
    awaiting_callback: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Callback(Base):
    """A fan's message left while no agent was online, waiting in the console's list."""

    __tablename__ = "handoff_callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    taken_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    taken_at: Mapped[datetime | None]


class AgentNote(Base):
    """An internal note on a conversation; never shown to the fan."""

    __tablename__ = "agent_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeDraft(Base):
    """An FAQ entry an agent wrote from a conversation; published after a supervisor approves."""

    __tablename__ = "knowledge_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str | None] = mapped_column(String(32))
    answer_en: Mapped[str | None] = mapped_column(Text)
    answer_zh: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    published_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One agent action (login, claim, reply, hand back, close, knowledge edit ...)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_created_at", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInFailure(Base):
    """Failed sign-ins per username, client address and minute (UTC), counted by one
    atomic upsert each, so parallel attempts cannot race past a lockout."""

    __tablename__ = "sign_in_failures"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_sign_in_failures_minute", "minute"),)
