"""Dependencies shared by the routes: authentication and the services.

They are `async def` although most never wait: FastAPI runs a plain `def` dependency
in its threadpool, a thread hand-off per dependency per request.

Every server-to-server route names the scope it needs (`GateScope`, `ReadScope`,
`FullScope`; see bot/api/keys.py). MATCHDAY_API_KEY is compared first and is `full`
with no database read; a scoped key is usually recognised from memory. The caller is
left on `request.state.caller` and handed to a route that asks for `CallerDep`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

import anyio
from fastapi import Depends, Request, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.api.errors import ApiError
from bot.api.keys import SCOPES, KeyChecker, KeyRefused, Scope
from bot.api.keys import Caller as Caller  # re-exported for the routes
from bot.conversations.service import ConversationService
from bot.rasa.client import RasaClient
from core.clock import utcnow
from core.settings import Settings
from ticketing.risk import record_refusal

log = logging.getLogger("matchday.gateway")

_bearer = HTTPBearer(
    auto_error=False,
    description="MATCHDAY_API_KEY, or a scoped key made with `desk api-keys create`.",
)
SERVER_KEY = Caller(key_id=None, name="MATCHDAY_API_KEY", scope="full", hold_budget=None)
# Key look-ups and refusal counts run in threads of their own, at most this many: a
# flood of bad keys then waits for these, never for the engine's threads.
KEY_THREADS = 4
_key_threads: anyio.CapacityLimiter | None = None


async def app_settings(request: Request) -> Settings:
    """The settings the running app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def _key_limiter() -> anyio.CapacityLimiter:
    global _key_threads
    if _key_threads is None:  # made on first use: it belongs to the running event loop
        _key_threads = anyio.CapacityLimiter(KEY_THREADS)
    return _key_threads


def _key_checker(request: Request) -> KeyChecker:
    """The app's memory of scoped keys (made on the first call that presents one)."""
    state = request.app.state
    checker: KeyChecker | None = getattr(state, "api_keys", None)
    if checker is None:
        checker = state.api_keys = KeyChecker(state.sessions)
    return checker


async def _count_refusal(request: Request, reason: str) -> None:
    """Count a refused key in the risk counters (fixture 0); a failure to count is logged,
    and the refusal stands."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    try:
        await anyio.to_thread.run_sync(
            record_refusal, sessions, 0, reason, utcnow(), limiter=_key_limiter()
        )
    except SQLAlchemyError:
        log.warning("could not count a refused API key (%s)", reason, exc_info=True)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def _caller_of(
    request: Request, credentials: HTTPAuthorizationCredentials | None, settings: Settings
) -> Caller:
    """Who presents `credentials`: MATCHDAY_API_KEY, else a scoped key; 401 otherwise."""
    if credentials is None:
        await _count_refusal(request, "api_key_refused")
        raise _unauthorized("Missing bearer token (Authorization header).")
    presented = credentials.credentials
    expected = settings.api_key
    if expected and secrets.compare_digest(presented.encode(), expected.encode()):
        return SERVER_KEY
    checker = _key_checker(request)
    now = utcnow()
    try:
        caller = checker.cached(presented, now)
        if caller is None:
            caller = await anyio.to_thread.run_sync(
                checker.check, presented, now, limiter=_key_limiter()
            )
    except KeyRefused as exc:
        await _count_refusal(request, "api_key_refused")
        raise _unauthorized(exc.message) from exc
    return caller


def _scope_check(needed: Scope) -> Callable[..., Awaitable[Caller]]:
    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        settings: Annotated[Settings, Depends(app_settings)],
    ) -> Caller:
        caller = await _caller_of(request, credentials, settings)
        if not caller.allows(needed):
            await _count_refusal(request, "api_scope_refused")
            also = "" if needed == "full" else " (or full)"
            raise ApiError(
                403,
                "insufficient_scope",
                f"This key's scope ({caller.scope}) does not allow this request; "
                f"it needs the {needed} scope{also}.",
            )
        request.state.caller = caller
        return caller

    check.__name__ = check.__qualname__ = f"require_{needed}_scope"
    return check


_SCOPE_CHECKS = {scope: _scope_check(scope) for scope in SCOPES}


def require_scope(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """The dependency that lets through a key of `scope` (or `full`): 401 for a missing,
    unknown, revoked or expired key, 403 `insufficient_scope` for another scope."""
    return _SCOPE_CHECKS[scope]


def scope_required(dependencies: Iterable[params.Depends]) -> Scope | None:
    """The scope a route with these `dependencies` (its router's included) requires;
    None when it requires no server-to-server key."""
    calls = {depends.dependency for depends in dependencies}
    for scope, check in _SCOPE_CHECKS.items():
        if check in calls:
            return scope
    return None


async def current_caller(request: Request) -> Caller:
    """The caller the route's scope dependency recognised."""
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):
        raise RuntimeError("CallerDep on a route that requires no scope (require_scope)")
    return caller


async def db_sessions(request: Request) -> sessionmaker[Session]:
    """Session factory of the app's database (use `with sessions.begin() as s:`)."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


async def db_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def conversation_service(request: Request) -> ConversationService:
    service: ConversationService = request.app.state.conversations
    return service


async def rasa_client(request: Request) -> RasaClient:
    client: RasaClient = request.app.state.rasa
    return client


GateScope = Depends(require_scope("gate"))
ReadScope = Depends(require_scope("read"))
FullScope = Depends(require_scope("full"))
require_api_key = require_scope("full")
ApiKey = FullScope  # the single key of old: everything
CallerDep = Annotated[Caller, Depends(current_caller)]
Conversations = Annotated[ConversationService, Depends(conversation_service)]
Rasa = Annotated[RasaClient, Depends(rasa_client)]
SettingsDep = Annotated[Settings, Depends(app_settings)]
Sessions = Annotated[sessionmaker[Session], Depends(db_sessions)]
DbEngine = Annotated[Engine, Depends(db_engine)]
