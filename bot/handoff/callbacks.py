"""Callback requests: what a fan leaves when no agent is online.

The conversation stays with the bot; the request waits in the console's callback
list. Taking it gives the conversation to the agent (a `callback` handoff that starts
claimed), so their reply reaches the fan in the same chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.models import Conversation, Message
from bot.handoff import audit
from bot.handoff.auth import Principal
from bot.handoff.errors import Conflict, Forbidden, NotFound
from bot.handoff.models import Callback, Handoff
from bot.handoff.policy import Policy
from bot.handoff.queue import open_handoff, set_conversation_status
from core.clock import utcnow
from core.db import read_session, write_session


@dataclass(frozen=True)
class CallbackView:
    """A callback request as the console lists it."""

    id: int
    conversation_id: str
    language: str
    reason: str
    text: str
    status: str
    created_at: datetime


def _view(row: Callback) -> CallbackView:
    return CallbackView(
        row.id, row.conversation_id, row.language, row.reason, row.text, row.status, row.created_at
    )


def leave(
    session: Session, conversation_id: str, language: str, reason: str, text: str
) -> Callback:
    """Record the fan's message as a callback request (in the caller's transaction)."""
    row = Callback(
        conversation_id=conversation_id, language=language, reason=reason, text=text, status="open"
    )
    session.add(row)
    session.flush()
    return row


def open_callbacks(sessions: sessionmaker[Session], principal: Principal) -> list[CallbackView]:
    """Open callback requests in the agent's languages, oldest first."""
    with read_session(sessions) as session:
        rows = session.scalars(
            select(Callback).where(Callback.status == "open").order_by(Callback.created_at)
        ).all()
        return [_view(r) for r in rows if principal.speaks(r.language)]


def take(
    sessions: sessionmaker[Session],
    policy: Policy,
    callback_id: int,
    principal: Principal,
    ip: str | None,
) -> tuple[CallbackView, Handoff, Message]:
    """Take a callback: the agent now holds the conversation and may write to the fan."""
    now = utcnow()
    with write_session(sessions) as session:
        row = session.get(Callback, callback_id)
        if row is None:
            raise NotFound(f"No callback {callback_id}.")
        if row.status != "open":
            raise Conflict("Someone already took this callback.", code="already_taken")
        if not principal.speaks(row.language):
            raise Forbidden("Not set up for this language.", code="language_skill")
        if open_handoff(session, row.conversation_id) is not None:
            raise Conflict("The conversation is already with the queue.", code="already_open")
        conversation = session.get(Conversation, row.conversation_id)
        if conversation is None:
            raise NotFound(f"No conversation {row.conversation_id!r}.")
        row.status = "taken"
        row.taken_by = principal.agent_id
        row.taken_at = now
        handoff = Handoff(
            conversation_id=row.conversation_id,
            status="with_agent",
            reason="callback",
            detail=f"callback {row.id}",
            priority=0,
            language=row.language,
            owner_id=principal.agent_id,
            queued_at=row.created_at,
            claimed_at=now,
        )
        session.add(handoff)
        set_conversation_status(session, row.conversation_id, "with_agent")
        text = policy.text("agent_joined", row.language, agent=principal.display_name)
        message = Message(conversation_id=row.conversation_id, sender="system", text=text)
        session.add(message)
        session.flush()
        audit.record(
            session,
            "callback_taken",
            username=principal.username,
            agent_id=principal.agent_id,
            conversation_id=row.conversation_id,
            ip=ip,
            callback_id=row.id,
        )
        return _view(row), handoff, message
