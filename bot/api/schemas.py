"""Request and response bodies shared by several routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from bot.conversations.service import Button as ButtonData
from bot.conversations.service import Reply as ReplyData

MAX_TEXT = 4000  # a little under Telegram's 4,096-character message limit
CONVERSATION_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
# The largest id of the desk's own rows (messages, callbacks, drafts): INTEGER columns,
# which PostgreSQL refuses to compare with anything larger (an error, not "not found").
MAX_ID = 2**31 - 1
# Text without control characters: PostgreSQL stores no NUL in text, and none of these
# belongs in an id, a name or a filter.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def rfc3339(value: datetime) -> str:
    """UTC timestamp with millisecond precision and a `Z`, as every endpoint returns them."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Button(BaseModel):
    title: str
    payload: str


class Reply(BaseModel):
    sender: Literal["bot", "agent", "system"]
    text: str
    buttons: list[Button] | None = None
    image: str | None = None

    @classmethod
    def of(cls, reply: ReplyData) -> Reply:
        return cls(
            sender=reply.sender,
            text=reply.text,
            buttons=[Button(title=b.title, payload=b.payload) for b in reply.buttons] or None,
            image=reply.image,
        )


def buttons_of(buttons: list[ButtonData]) -> list[Button] | None:
    return [Button(title=b.title, payload=b.payload) for b in buttons] or None


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class StrictBody(BaseModel):
    """A request body: no unknown fields, no type coercion, no NUL in any text."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # PostgreSQL cannot store NUL in text: refused here as invalid input, once for
        # every body, rather than failing in the database as a server error.
        if _has_nul(data):
            raise ValueError("text must not contain NUL (\\u0000) characters")
        return data


class FanMessageIn(StrictBody):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: Literal["en", "zh"] | None = None
    client_message_id: str | None = Field(None, min_length=1, max_length=128)
    metadata: dict[str, Any] | None = None


class MessageOut(BaseModel):
    id: int
    sender: Literal["fan", "bot", "agent", "system"]
    text: str
    buttons: list[Button] | None = None
    image: str | None = None
    created_at: datetime

    @field_serializer("created_at")
    def _time(self, value: datetime) -> str:
        return rfc3339(value)
