"""The router's memory of a conversation between turns.

Recent turn records (intent, confidence, low/fallback flags), the fan's priority
profile and ticketing customer id, and whether the desk waits for a callback message.
Persisted, so a restart does not reset the counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.handoff.models import RouterMemory
from core.clock import utcnow

KEEP_TURNS = 20


@dataclass
class Memory:
    """A mutable copy of one conversation's router memory."""

    turns: list[dict[str, Any]] = field(default_factory=list)
    profile: str | None = None
    awaiting_callback: bool = False
    customer: str | None = None


def load(session: Session, conversation_id: str) -> Memory:
    """The memory of a conversation (empty for a new one)."""
    row = session.get(RouterMemory, conversation_id)
    if row is None:
        return Memory()
    return Memory(list(row.turns or []), row.profile, bool(row.awaiting_callback), row.customer)


def save(session: Session, conversation_id: str, memory: Memory) -> None:
    """Store the memory (keeping the last KEEP_TURNS turns)."""
    row = session.get(RouterMemory, conversation_id)
    if row is None:
        row = RouterMemory(conversation_id=conversation_id)
        session.add(row)
    row.turns = memory.turns[-KEEP_TURNS:]
    row.profile = memory.profile
    row.awaiting_callback = memory.awaiting_callback
    row.customer = memory.customer
    row.updated_at = utcnow()
