"""Internal notes agents leave on a conversation; the fan never sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.handoff import audit
from bot.handoff.auth import Principal
from bot.handoff.models import Agent, AgentNote


@dataclass(frozen=True)
class NoteView:
    """A note with its author."""

    id: int
    author: str
    text: str
    created_at: datetime


def add_note(
    session: Session, conversation_id: str, text: str, principal: Principal, ip: str | None
) -> NoteView:
    """Add a note (in the caller's transaction) and audit it."""
    note = AgentNote(conversation_id=conversation_id, agent_id=principal.agent_id, text=text)
    session.add(note)
    session.flush()
    audit.record(
        session,
        "note",
        username=principal.username,
        agent_id=principal.agent_id,
        conversation_id=conversation_id,
        ip=ip,
        note_id=note.id,
    )
    return NoteView(note.id, principal.username, note.text, note.created_at)


def notes_of(session: Session, conversation_id: str) -> list[NoteView]:
    """The conversation's notes, oldest first."""
    rows = session.execute(
        select(AgentNote, Agent.username)
        .join(Agent, Agent.id == AgentNote.agent_id)
        .where(AgentNote.conversation_id == conversation_id)
        .order_by(AgentNote.id)
    ).all()
    return [NoteView(n.id, username, n.text, n.created_at) for n, username in rows]
