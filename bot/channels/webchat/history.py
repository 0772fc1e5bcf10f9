"""A widget conversation as the fan sees it: status, queue position and messages.

Messages are the handoff desk's `message_json` shape; the fan's own messages also
carry their `client_message_id`, so the widget can match them with what it sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.models import Conversation, Message
from bot.handoff.desk import message_json
from bot.handoff.queue import HandoffQueue, open_handoff
from core.db import read_session

PAGE = 200


@dataclass(frozen=True)
class Snapshot:
    """The conversation's state now and its messages after some id."""

    status: str
    position: int | None
    messages: list[dict[str, Any]] = field(default_factory=list)

    def state_json(self) -> dict[str, Any]:
        return {"status": self.status, "position": self.position}


def widget_message(row: Message) -> dict[str, Any]:
    """One stored message for the widget."""
    body = message_json(row)
    if row.sender == "fan":
        body["client_message_id"] = row.client_message_id
    return body


def _position(session: Session, queue: HandoffQueue, conversation_id: str) -> int | None:
    handoff = open_handoff(session, conversation_id)
    if handoff is None or handoff.status != "queued":
        return None
    return queue.position(session, handoff)


def load(
    sessions: sessionmaker[Session],
    queue: HandoffQueue,
    conversation_id: str,
    after: int = 0,
    limit: int = PAGE,
    with_messages: bool = True,
) -> Snapshot:
    """Status, queue position and (up to `limit`) messages with ids above `after`."""
    with read_session(sessions) as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return Snapshot("bot", None)
        position = _position(session, queue, conversation_id)
        if not with_messages:
            return Snapshot(conversation.status, position)
        rows = session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after)
            .order_by(Message.id)
            .limit(limit)
        )
        return Snapshot(conversation.status, position, [widget_message(r) for r in rows])
