"""What a widget may send over its socket, parsed and bounded before anything acts on it.

Frames are JSON objects with a `type`:

- `{"type": "hello", "token", "after"?}`: the first frame; `after` is the last message
  id the widget has (it gets everything newer first).
- `{"type": "message", "id", "text", "language"?}`: a fan message; `id` is the
  widget's client message id (resending the same id never duplicates the message).
- `{"type": "typing"}` while the fan types; `{"type": "ping"}` (answered `pong`).

Anything else is refused with a `Refusal` (an `error` frame; the socket stays open).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.api.schemas import MAX_ID, MAX_TEXT

MAX_FRAME_BYTES = 16 * 1024
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
LANGUAGES = ("en", "zh")


class Refusal(Exception):
    """A frame the socket will not act on; sent back as `{"type": "error", ...}`."""

    def __init__(self, code: str, message: str, frame_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.frame_id = frame_id

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        if self.frame_id is not None:
            body["id"] = self.frame_id
        return body


@dataclass(frozen=True)
class Hello:
    token: str
    after: int


@dataclass(frozen=True)
class FanText:
    id: str
    text: str
    language: str | None


@dataclass(frozen=True)
class Typing:
    pass


@dataclass(frozen=True)
class Ping:
    pass


Frame = Hello | FanText | Typing | Ping


def _fan_text(body: dict[str, Any]) -> FanText:
    frame_id = body.get("id")
    if not isinstance(frame_id, str) or not _CLIENT_ID.match(frame_id):
        raise Refusal("invalid_id", "id: 1-128 letters, digits or _.:- are required.")
    text = body.get("text")
    if not isinstance(text, str):
        raise Refusal("invalid_text", "text: a string is required.", frame_id)
    text = text.strip()
    if "\x00" in text:  # PostgreSQL stores no NUL in text
        raise Refusal("invalid_text", "text: must not contain NUL characters.", frame_id)
    if not text:
        raise Refusal("empty_text", "text: must not be blank.", frame_id)
    if len(text) > MAX_TEXT:
        raise Refusal(
            "text_too_long", f"text: at most {MAX_TEXT} characters per message.", frame_id
        )
    language = body.get("language")
    if language is not None and language not in LANGUAGES:
        raise Refusal("invalid_language", "language: 'en' or 'zh'.", frame_id)
    return FanText(frame_id, text, language)


def parse(raw: str | bytes | None) -> Frame:
    """The frame, or Refusal naming what is wrong with it."""
    if not isinstance(raw, str):
        raise Refusal("binary_frame", "Send JSON text frames only.")
    if len(raw) > MAX_FRAME_BYTES or len(raw.encode()) > MAX_FRAME_BYTES:
        raise Refusal("frame_too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
    try:
        body: Any = json.loads(raw)
    except ValueError:
        raise Refusal("invalid_json", "The frame is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Refusal("invalid_frame", "A frame is a JSON object with a type.")
    kind = body.get("type")
    if kind == "message":
        return _fan_text(body)
    if kind == "typing":
        return Typing()
    if kind == "ping":
        return Ping()
    if kind == "hello":
        token, after = body.get("token"), body.get("after", 0)
        if not isinstance(token, str) or not token:
            raise Refusal("invalid_token", "token: the widget token is required.")
        if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_ID:
            raise Refusal("invalid_after", "after: a message id (0 or more) is required.")
        return Hello(token, after)
    raise Refusal("unknown_type", f"Unknown frame type {str(kind)[:32]!r}.")
