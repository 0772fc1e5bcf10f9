"""What the handoff desk answers with: the agent API's response bodies, also sent
(as JSON) over the consoles' and the widget's WebSockets.

Timestamps are RFC 3339 strings in UTC with milliseconds and a `Z` (`events.iso`).
Fields keep the order the API has always sent them in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from bot.conversations.models import Message
from bot.handoff.events import iso

Sender = Literal["fan", "bot", "agent", "system"]


class View(BaseModel):
    """A response body read from an object of the desk (`View.model_validate(row)`): the
    fields are its attributes of the same name, and times are written as `events.iso`."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _rfc3339(cls, value: Any) -> Any:
        return iso(value) if isinstance(value, datetime) else value


class MessageButton(BaseModel):
    """A button the desk offered: its label and what a tap sends."""

    title: str
    payload: str


class AgentMessage(BaseModel):
    """A stored message of the conversation, as agents (and the widget) see it."""

    id: int
    sender: Sender
    text: str
    buttons: list[MessageButton] | None
    image: str | None
    created_at: str

    @classmethod
    def of(cls, message: Message) -> AgentMessage:
        """The API view of a stored message."""
        return cls(
            id=message.id,
            sender=message.sender,
            text=message.text,
            buttons=[MessageButton(**b) for b in message.buttons] if message.buttons else None,
            image=message.image,
            created_at=iso(message.created_at),
        )


class QueueEntry(View):
    """A conversation in the queue (or held by an agent); `id` is its conversation's."""

    id: str = Field(validation_alias=AliasChoices("conversation_id", "id"))
    status: str
    priority: int
    profile: str | None
    language: str
    topic: str | None
    reason: str
    detail: str | None
    waiting_since: str
    owner: str | None


class ClaimOut(BaseModel):
    """Who holds the conversation after a claim, an assignment or a taken callback."""

    id: str
    status: str
    owner: str | None


class HandoffDetail(View):
    """Why and when the open handoff started."""

    reason: str
    detail: str | None
    priority: int
    profile: str | None
    topic: str | None
    queued_at: str
    claimed_at: str | None


class ConversationNote(View):
    """An internal note on the conversation (the fan never sees it)."""

    id: int
    author: str
    text: str
    created_at: str


class RecentIntent(BaseModel):
    """One of the fan's last recognised intents, as the router remembers it."""

    intent: str
    confidence: float | None


class OrderSummary(BaseModel):
    """One of the fan's orders."""

    ref: str
    status: str
    fixture_id: int
    total: int
    currency: str
    created_at: str
    tickets: int


class ConversationContext(BaseModel):
    """What the bot knew: its slots (empty while Rasa is down), the last intents, the
    fan's orders and the customer id they are filed under."""

    slots: dict[str, Any]
    intents: list[RecentIntent]
    orders: list[OrderSummary]
    customer: str


class ConversationDetail(BaseModel):
    """A conversation as the agent working it sees it."""

    id: str
    status: str
    owner: str | None
    language: str | None
    channel: str
    handoff: HandoffDetail | None
    messages: list[AgentMessage]
    notes: list[ConversationNote]
    context: ConversationContext


class AuditRecord(View):
    """One entry of the audit log."""

    id: int
    username: str
    action: str
    conversation_id: str | None
    detail: dict[str, Any]
    ip: str | None
    created_at: str
