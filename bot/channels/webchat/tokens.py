"""Widget tokens: a conversation id, an expiry and an HMAC, nothing stored server-side.

`v1.<conversation id>.<expires (unix s)>.<signature>`. The signing key is derived from
MATCHDAY_MEDIA_SECRET with a label of its own, so a token can never pass for a media
link's signature (or the other way round); rotating that secret ends every widget
session (the widget then opens a fresh one).

A token lives MATCHDAY_WIDGET_TOKEN_TTL (a week by default) and is renewed while the chat
is in use: on every resume, and over an open socket once less than half of its life is
left (`renewal_due`). No token lives longer than `LONGEST_TTL_S`, the setting's upper
bound and the lifetime every token had before renewal existed; revocations.py relies on
it to tell which tokens were issued before a revocation.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass

from core.signing import Signer

VERSION = "v1"
DEFAULT_TTL_S = 7 * 24 * 3600
LONGEST_TTL_S = 30 * 24 * 3600
_PURPOSE = "matchday widget token v1"
_CONVERSATION = re.compile(r"^web-[A-Za-z0-9_-]{22,64}$")


class InvalidToken(Exception):
    """A token that is malformed, forged or expired; `code` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class WidgetToken:
    """What a valid token grants: one conversation, until `expires` (unix seconds)."""

    conversation_id: str
    expires: int
    value: str


def new_conversation_id() -> str:
    """An unguessable conversation id (128 bits of randomness)."""
    return f"web-{secrets.token_urlsafe(16)}"


def is_conversation_id(value: str) -> bool:
    """Whether `value` is a widget conversation id (what a token can name)."""
    return bool(_CONVERSATION.match(value))


def _signature(secret: str, conversation_id: str, expires: int) -> str:
    return Signer(secret, _PURPOSE).sign(f"{conversation_id}\n{expires}")


def issue(
    secret: str, conversation_id: str, ttl_s: int = DEFAULT_TTL_S, now: float | None = None
) -> WidgetToken:
    """A token for `conversation_id`, valid for `ttl_s` seconds."""
    if not secret:
        raise ValueError("no widget signing secret (MATCHDAY_MEDIA_SECRET) is set")
    if not is_conversation_id(conversation_id):
        raise ValueError(f"not a widget conversation id: {conversation_id!r}")
    expires = int((time.time() if now is None else now) + ttl_s)
    signature = _signature(secret, conversation_id, expires)
    value = f"{VERSION}.{conversation_id}.{expires}.{signature}"
    return WidgetToken(conversation_id, expires, value)


def verify(secret: str, value: str, now: float | None = None) -> WidgetToken:
    """The token's grant, or InvalidToken (`invalid_token` / `token_expired`)."""
    # ASCII only: "²".isdigit() holds but int("²") fails, and compare_digest refuses
    # non-ASCII text; a crafted token is malformed, never a server error.
    ascii_token = isinstance(value, str) and len(value) <= 256 and value.isascii()
    parts = value.split(".") if ascii_token else []
    if len(parts) != 4 or parts[0] != VERSION or not parts[2].isdigit():
        raise InvalidToken("invalid_token", "The widget token is malformed.")
    _, conversation_id, expires_text, signature = parts
    expires = int(expires_text)
    expected = _signature(secret, conversation_id, expires) if secret else ""
    if not secret or not hmac.compare_digest(expected, signature):
        raise InvalidToken("invalid_token", "The widget token is not valid here.")
    if expires < (time.time() if now is None else now):
        raise InvalidToken("token_expired", "The widget session has expired; open a new one.")
    return WidgetToken(conversation_id, expires, value)


def renewal_due(grant: WidgetToken, ttl_s: int, now: float | None = None) -> bool:
    """Whether an open socket should get a new token for `grant` now: less than half of
    `ttl_s` is left, or more than `ttl_s` (issued under a longer lifetime setting)."""
    left = grant.expires - (time.time() if now is None else now)
    return left < ttl_s / 2 or left > ttl_s
