"""How a notice reaches a fan, per channel.

A `NoticeSender` delivers one rendered notice or raises: `PermanentFailure` when
retrying cannot help (the fan blocked the bot), anything else to be retried.
Every channel also stores the notice in the fan's conversation (sender `system`),
so agents see it in the transcript and the widget restores it after a reload.
"""

from __future__ import annotations

from typing import Protocol

from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.models import Conversation, Message
from bot.handoff.desk import message_json
from bot.handoff.events import Event, EventBus
from bot.notifications.content import Rendered
from bot.notifications.outbox import NoticeView
from core.clock import utcnow
from core.db import write_session
from core.media import signed_path, ticket_qr_path

SENDER = "system"


class PermanentFailure(Exception):
    """The notice can never be delivered on this channel (no retries)."""


class NoticeSender(Protocol):
    """Delivers notices of one channel."""

    async def send(self, notice: NoticeView, rendered: Rendered, language: str) -> None:
        """Deliver `rendered` to the notice's fan, or raise."""
        ...


def store_notice(
    sessions: sessionmaker[Session],
    conversation_id: str,
    channel: str,
    parts: list[tuple[str, str | None]],
) -> list[Message]:
    """Append the notice's messages (text, image link) to the conversation (created if new)."""
    with write_session(sessions) as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            session.add(Conversation(id=conversation_id, channel=channel))
            session.flush()
        else:
            conversation.updated_at = utcnow()
        messages = [
            Message(conversation_id=conversation_id, sender=SENDER, text=text, image=image)
            for text, image in parts
        ]
        session.add_all(messages)
        session.flush()
        for message in messages:
            session.refresh(message)
        session.expunge_all()
        return messages


class WebSender:
    """The widget (and REST API conversations): store, then publish on the event bus;
    the widget pushes `Event("message", ...)` of its conversations to the fan."""

    def __init__(
        self, sessions: sessionmaker[Session], bus: EventBus, media_secret: str, gateway_url: str
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._secret = media_secret
        self._gateway = gateway_url.rstrip("/")

    def _link(self, ticket_id: int, version: int) -> str:
        return self._gateway + signed_path(self._secret, ticket_qr_path(ticket_id, version))

    async def send(self, notice: NoticeView, rendered: Rendered, language: str) -> None:
        parts: list[tuple[str, str | None]] = [(rendered.text, None)]
        parts += [(t.caption, self._link(t.ticket_id, t.version)) for t in rendered.tickets]
        messages = await to_thread.run_sync(
            store_notice, self._sessions, notice.conversation_id, notice.channel, parts
        )
        for message in messages:
            self._bus.publish(
                Event(
                    "message",
                    notice.conversation_id,
                    {"message": message_json(message), "notice": notice.kind},
                    language=language,
                )
            )
