"""Opening and resuming widget sessions: origin check, rate limit, signed token; and the
caps on open sockets.

Nothing is stored per session: the conversation row appears with the fan's first message,
and the token proves which conversation a browser may read and write. Where a request
meets the database anyway (a resume, the history, a socket's hello and its renewals) the
token's standing is checked too: not revoked (revocations.py), and the conversation no
older than `max_age_s` (from its first message: then a fan's tokens stop being renewed,
so a copied token cannot be kept alive for ever; the widget starts a fresh conversation).

Open sockets are capped per conversation (several tabs are normal) and per client address
(households, venue wifi and mobile carriers share addresses), counted in this process.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.webchat import revocations, tokens
from bot.channels.webchat.limits import RateLimit, Slots
from bot.channels.webchat.origins import OriginPolicy, normalise, parse_setting
from bot.conversations.models import Conversation
from core.clock import utcnow
from core.db import read_session
from core.settings import Settings

SESSION_BURST = 20  # new or resumed sessions per client IP at once
SESSION_REFILL_PER_S = 20 / 60  # ... and then twenty a minute
# The defaults of MATCHDAY_WIDGET_SOCKETS_PER_CONVERSATION, ..._PER_ADDRESS, ..._TOKEN_TTL
# and ..._SESSION_MAX_AGE (core/settings.py).
SOCKETS_PER_CONVERSATION = 5
SOCKETS_PER_ADDRESS = 50
SESSION_MAX_AGE_S = 60 * 24 * 3600


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


def revoked_refusal() -> WidgetRefused:
    """The answer to a token of a revoked conversation."""
    return WidgetRefused(401, "token_revoked", "This chat session was ended by the club.", "token")


@dataclass(frozen=True)
class OpenedSession:
    """What the widget keeps: its conversation and the token for it (`previous`: the token
    it resumed with, whose standing the caller checks against the database)."""

    token: tokens.WidgetToken
    resumed: bool
    previous: tokens.WidgetToken | None = None


class WidgetSessions:
    """The gate every widget request passes: origin, rate limit, token."""

    def __init__(
        self,
        secret: str,
        origins: OriginPolicy,
        limit: RateLimit | None = None,
        ttl_s: int = tokens.DEFAULT_TTL_S,
        max_age_s: int = SESSION_MAX_AGE_S,
        sockets_per_conversation: int = SOCKETS_PER_CONVERSATION,
        sockets_per_address: int = SOCKETS_PER_ADDRESS,
    ) -> None:
        self.secret = secret
        self.origins = origins
        self.limit = limit or RateLimit(SESSION_BURST, SESSION_REFILL_PER_S)
        self.ttl_s = ttl_s
        self.max_age_s = max_age_s
        self.conversation_sockets = Slots(sockets_per_conversation)
        self.address_sockets = Slots(sockets_per_address)

    @classmethod
    def from_settings(cls, settings: Settings) -> WidgetSessions:
        """Validates MATCHDAY_WIDGET_ORIGINS (a bad entry stops start-up)."""
        own = normalise(settings.public_url) if settings.public_url else None
        return cls(
            settings.media_secret,
            OriginPolicy(parse_setting(settings.widget_origins), own),
            ttl_s=settings.widget_token_ttl_s,
            max_age_s=settings.widget_session_max_age_s,
            sockets_per_conversation=settings.widget_sockets_per_conversation,
            sockets_per_address=settings.widget_sockets_per_address,
        )

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
            renewed = tokens.issue(self.secret, grant.conversation_id, self.ttl_s)
            return OpenedSession(renewed, True, grant)
        conversation_id = tokens.new_conversation_id()
        return OpenedSession(tokens.issue(self.secret, conversation_id, self.ttl_s), False)

    def verify(self, token: str) -> tokens.WidgetToken:
        """The token's grant, or WidgetRefused(401) saying whether it is invalid or expired."""
        try:
            return tokens.verify(self.secret, token)
        except tokens.InvalidToken as exc:
            raise WidgetRefused(401, exc.code, exc.message, "token") from exc

    def check_standing(
        self, db: sessionmaker[Session], grant: tokens.WidgetToken, now: datetime | None = None
    ) -> None:
        """WidgetRefused(401) if the grant's tokens were revoked (`token_revoked`) or its
        conversation is past the longest a session may last (`session_too_old`)."""
        now = now or utcnow()
        with read_session(db) as session:
            revoked = revocations.revoked_at(session, grant.conversation_id)
            started = session.get(Conversation, grant.conversation_id)
            started_at = started.created_at if started is not None else None
        if revoked is not None and revocations.covers(revoked, grant.expires):
            raise revoked_refusal()
        if started_at is not None:
            started_at = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
            if now - started_at > timedelta(seconds=self.max_age_s):
                raise WidgetRefused(
                    401,
                    "session_too_old",
                    "This chat session has reached its maximum age; open a new one.",
                    "token",
                )

    def renew(self, db: sessionmaker[Session], grant: tokens.WidgetToken) -> tokens.WidgetToken:
        """A new token for the grant's conversation, if it is still in good standing."""
        self.check_standing(db, grant)
        return tokens.issue(self.secret, grant.conversation_id, self.ttl_s)

    @contextmanager
    def address_socket(self, address: str) -> Iterator[None]:
        """Hold one of the client address's socket slots, or WidgetRefused(429)."""
        if not self.address_sockets.acquire(address):
            raise WidgetRefused(
                429,
                "too_many_connections",
                "Too many chats are open from your network; trying again later.",
            )
        try:
            yield
        finally:
            self.address_sockets.release(address)

    @contextmanager
    def conversation_socket(self, conversation_id: str) -> Iterator[None]:
        """Hold one of the conversation's socket slots, or WidgetRefused(429)."""
        if not self.conversation_sockets.acquire(conversation_id):
            raise WidgetRefused(
                429,
                "too_many_tabs",
                "This chat is open in too many tabs; close one and it reconnects.",
            )
        try:
            yield
        finally:
            self.conversation_sockets.release(conversation_id)
