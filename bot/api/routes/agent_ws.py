"""`/api/v1/agent/ws`: the console's live channel.

The server sends events (`queue`, `message`, `typing`, `status`, `note`, `callback`,
`presence`) the agent may see: queue and callback events in their languages; the
messages, typing and status of conversations they hold (supervisors: all). The
client sends `{"type": "typing", "conversation_id"}` and `{"type": "ping"}`.

Authentication is the session cookie (browsers) or a bearer header (API clients).
A cookie-authenticated socket must come from the gateway's own origin (the
WebSocket form of CSRF protection). Refused handshakes get HTTP 403; a session that
expires or is revoked while connected (sign-out, deactivation, a password change) is
closed with code 4401 at the client's next message, or at the next heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from anyio import to_thread
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from bot.api.routes.agent_deps import handoff_desk, principal_of
from bot.handoff.auth import Principal, authenticate, touch
from bot.handoff.errors import HandoffError
from bot.handoff.events import Event
from core import metrics

router = APIRouter()
log = logging.getLogger("matchday.handoff")
HEARTBEAT_S = 20.0
POLICY_VIOLATION = 1008
SESSION_ENDED = 4401


def visible(principal: Principal, event: Event) -> bool:
    """Whether `principal` may receive `event`."""
    if event.type == "presence":
        return principal.at_least("supervisor")
    if event.type in ("queue", "callback"):
        return principal.speaks(event.language)
    if principal.at_least("supervisor"):
        return True
    if event.owner_id is not None:
        return event.owner_id == principal.agent_id
    # A queued conversation (no owner yet): agents who could claim it may watch it.
    return event.type == "message" and principal.speaks(event.language)


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient cookie to abuse
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


async def _receive(websocket: WebSocket, principal: Principal, token: str) -> None:
    desk = handoff_desk(websocket)
    while True:
        raw = await websocket.receive_text()
        try:  # every action is the session's: it may have ended since the last one
            principal = await to_thread.run_sync(authenticate, desk.sessions, token)
        except HandoffError:
            await websocket.close(SESSION_ENDED)
            return
        try:
            message: Any = json.loads(raw)
        except ValueError:
            await websocket.send_json({"type": "error", "code": "invalid_json"})
            continue
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await to_thread.run_sync(touch, desk.sessions, principal.session_hash)
            await websocket.send_json({"type": "pong"})
        elif kind == "typing" and isinstance(message.get("conversation_id"), str):
            try:
                await to_thread.run_sync(desk.agent_typing, principal, message["conversation_id"])
            except HandoffError as exc:
                await websocket.send_json(
                    {"type": "error", "code": exc.code, "message": exc.message}
                )
        else:
            await websocket.send_json({"type": "error", "code": "unknown_message"})


async def _heartbeat(websocket: WebSocket, principal: Principal, token: str) -> None:
    desk = handoff_desk(websocket)
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        try:
            await to_thread.run_sync(authenticate, desk.sessions, token)
            await to_thread.run_sync(touch, desk.sessions, principal.session_hash)
        except HandoffError:
            await websocket.close(SESSION_ENDED)
            return


async def _send(websocket: WebSocket, principal: Principal) -> None:
    desk = handoff_desk(websocket)
    with desk.bus.subscribe() as subscription:
        await websocket.send_json(
            {"type": "hello", "agent": principal.username, "role": principal.role}
        )
        while True:
            event = await subscription.next()
            if subscription.overflowed:
                await websocket.close(POLICY_VIOLATION, "too slow; reconnect")
                return
            if visible(principal, event):
                await websocket.send_json(event.as_json())


@router.websocket("/ws")
async def agent_socket(websocket: WebSocket) -> None:
    """The console's live events; see the module docstring."""
    try:
        principal, via = await to_thread.run_sync(principal_of, websocket)
    except HandoffError:
        await websocket.close(POLICY_VIOLATION)  # before accept: the client gets HTTP 403
        return
    if via == "cookie" and not _same_origin(websocket):
        await websocket.close(POLICY_VIOLATION)
        return
    token = websocket.cookies.get("matchday_console") if via == "cookie" else None
    if token is None:
        token = websocket.headers.get("authorization", "").partition(" ")[2].strip()
    await websocket.accept()
    with metrics.open_socket("console"):
        await _serve(websocket, principal, token)


async def _serve(websocket: WebSocket, principal: Principal, token: str) -> None:
    tasks = [
        asyncio.create_task(_send(websocket, principal)),
        asyncio.create_task(_receive(websocket, principal, token)),
        asyncio.create_task(_heartbeat(websocket, principal, token)),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect):
                log.warning("agent socket of %s ended: %r", principal.username, error)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
