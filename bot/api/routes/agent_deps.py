"""Authentication of agents for the agent API, the console and its WebSocket.

An agent request carries either `Authorization: Bearer <session token>` (API clients)
or the console's `matchday_console` cookie; cookie requests that change something must
also send `X-CSRF-Token`. The server-to-server key is not an agent: 403.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from bot.api.errors import ApiError
from bot.handoff.auth import Principal, authenticate, check_csrf
from bot.handoff.desk import HandoffDesk
from bot.handoff.errors import (
    Conflict,
    Forbidden,
    HandoffError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
)
from core.settings import Settings

COOKIE = "matchday_console"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_STATUS: dict[type[HandoffError], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    RateLimited: 429,
}


def api_error(exc: HandoffError) -> ApiError:
    """The API error for a handoff error."""
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
    headers: dict[str, str] | None = None
    if isinstance(exc, NotAuthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return ApiError(status, exc.code, exc.message, exc.field, headers)


@contextmanager
def translated() -> Iterator[None]:
    """Turn handoff errors raised inside into the API's error responses."""
    try:
        yield
    except HandoffError as exc:
        raise api_error(exc) from exc


def handoff_desk(connection: HTTPConnection) -> HandoffDesk:
    """The app's handoff desk."""
    desk: HandoffDesk = connection.app.state.handoff
    return desk


def client_ip(connection: HTTPConnection) -> str | None:
    """The caller's address (for the audit log and the login rate limit)."""
    return connection.client.host if connection.client else None


def presented_token(connection: HTTPConnection) -> tuple[str | None, str]:
    """The session token and how it came: ("...", "bearer" | "cookie"), or (None, "")."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), "bearer"
    cookie = connection.cookies.get(COOKIE)
    if cookie:
        return cookie, "cookie"
    return None, ""


def principal_of(connection: HTTPConnection) -> tuple[Principal, str]:
    """Authenticate an HTTP or WebSocket connection; raises `HandoffError`."""
    token, via = presented_token(connection)
    if token is None:
        raise NotAuthenticated("Sign in as an agent (bearer token or console session).")
    settings: Settings = connection.app.state.settings
    is_server_key = via == "bearer" and bool(settings.api_key)
    if is_server_key and secrets.compare_digest(token.encode(), settings.api_key.encode()):
        raise Forbidden(
            "The server-to-server key cannot act as an agent; sign in as an agent.",
            code="agent_session_required",
        )
    return authenticate(handoff_desk(connection).sessions, token), via


def current_agent(request: Request) -> Principal:
    """The signed-in agent (401 without a valid session, 403 on a failed CSRF check)."""
    with translated():
        principal, via = principal_of(request)
        if via == "cookie" and request.method not in SAFE_METHODS:
            check_csrf(principal, request.headers.get(CSRF_HEADER))
    return principal


def current_supervisor(principal: Annotated[Principal, Depends(current_agent)]) -> Principal:
    """The signed-in agent, who must be a supervisor or admin (403 otherwise)."""
    with translated():
        principal.require("supervisor")
    return principal


AgentDep = Annotated[Principal, Depends(current_agent)]
SupervisorDep = Annotated[Principal, Depends(current_supervisor)]
DeskDep = Annotated[HandoffDesk, Depends(handoff_desk)]
IpDep = Annotated[str | None, Depends(client_ip)]
