"""Opening and resuming widget sessions: origin check, rate limit, signed token.

Nothing is stored: the conversation row appears with the fan's first message, and the
token alone proves which conversation a browser may read and write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.channels.webchat import tokens
from bot.channels.webchat.limits import RateLimit
from bot.channels.webchat.origins import OriginPolicy, normalise, parse_setting
from core.settings import Settings

SESSION_BURST = 20  # new or resumed sessions per client IP at once
SESSION_REFILL_PER_S = 20 / 60  # ... and then twenty a minute


class WidgetRefused(Exception):
    """A refused widget request, answered as `{"error": {"code", "message", "field"?}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class OpenedSession:
    """What the widget keeps: its conversation and the token for it."""

    token: tokens.WidgetToken
    resumed: bool


class WidgetSessions:
    """The gate every widget request passes: origin, rate limit, token."""

    def __init__(
        self,
        secret: str,
        origins: OriginPolicy,
        limit: RateLimit | None = None,
        ttl_s: int = tokens.DEFAULT_TTL_S,
    ) -> None:
        self.secret = secret
        self.origins = origins
        self.limit = limit or RateLimit(SESSION_BURST, SESSION_REFILL_PER_S)
        self.ttl_s = ttl_s

    @classmethod
    def from_settings(cls, settings: Settings) -> WidgetSessions:
        """Validates MATCHDAY_WIDGET_ORIGINS (a bad entry stops start-up)."""
        own = normalise(settings.public_url) if settings.public_url else None
        return cls(settings.media_secret, OriginPolicy(parse_setting(settings.widget_origins), own))

    def check_origin(self, origin: str | None, host: str | None) -> None:
        """WidgetRefused(403) unless the page's origin may use the widget."""
        if not origin:
            raise WidgetRefused(
                403, "origin_required", "Widget requests must come from a web page (Origin header)."
            )
        if not self.origins.allows(origin, host):
            raise WidgetRefused(
                403,
                "origin_not_allowed",
                f"The origin {origin} is not allowed to open chat sessions; "
                "add it to MATCHDAY_WIDGET_ORIGINS.",
            )

    def open(
        self, origin: str | None, host: str | None, client_ip: str, token: str | None
    ) -> OpenedSession:
        """A new session, or the one `token` names with a renewed expiry."""
        self.check_origin(origin, host)
        wait = self.limit.take(client_ip)
        if wait > 0:
            raise WidgetRefused(
                429,
                "rate_limited",
                "Too many chat sessions from your address; please wait a moment.",
                retry_after_s=math.ceil(wait),
            )
        if not self.secret:
            raise WidgetRefused(
                503, "widget_not_configured", "The chat is not configured on this server."
            )
        if token is not None:
            grant = self.verify(token)
            return OpenedSession(tokens.issue(self.secret, grant.conversation_id, self.ttl_s), True)
        conversation_id = tokens.new_conversation_id()
        return OpenedSession(tokens.issue(self.secret, conversation_id, self.ttl_s), False)

    def verify(self, token: str) -> tokens.WidgetToken:
        """The token's grant, or WidgetRefused(401) saying whether it is invalid or expired."""
        try:
            return tokens.verify(self.secret, token)
        except tokens.InvalidToken as exc:
            raise WidgetRefused(401, exc.code, exc.message, "token") from exc
