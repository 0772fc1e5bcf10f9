"""The widget's HTTP and WebSocket endpoints, the script and the demo club page (thin:
the work is in sessions.py, history.py and socket.py).

The script is served with its texts written in (the `widget.*` texts of the catalogue and
the club's name, by language): it starts with no request for them, so no fallback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.api.errors import error_body
from bot.api.schemas import MAX_ID
from bot.channels.webchat import frames, history, tokens
from bot.channels.webchat.sessions import WidgetRefused, WidgetSessions
from bot.channels.webchat.socket import (
    HELLO_TIMEOUT_S,
    TOO_MANY_SOCKETS,
    UNAUTHORISED,
    LiveSockets,
    WidgetSocket,
    client_address,
)
from bot.conversations.service import ConversationService
from bot.handoff.desk import HandoffDesk
from core.clock import utcnow
from core.settings import Settings
from core.texts import Catalogue, catalogue
from knowledge.language import LANGUAGES
from ticketing.club import club_names
from ticketing.risk import record_refusal

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/api/v1/widget"
POLICY_VIOLATION = 1008
# Where widget.js takes its texts (replaced, once, by `widget_script_source`).
TEXTS_MARKER = "/* texts */ {}"
DEMO_HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
SCRIPT_HEADERS: Final[dict[str, str]] = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
    "Access-Control-Allow-Origin": "*",
}

router = APIRouter(tags=["widget"])
log = logging.getLogger("matchday.widget")


def install(app: FastAPI, settings: Settings) -> None:
    """Check the widget settings (a bad MATCHDAY_WIDGET_ORIGINS stops start-up) and mount."""
    app.state.widget = WidgetSessions.from_settings(settings)
    app.state.widget_sockets = LiveSockets(app.state.widget, app.state.sessions)
    widget_script_source({})  # a script the texts cannot go into stops start-up
    app.state.widget_script = None  # written at the first request, with the club's name
    app.include_router(router)


def widget_script_source(club: Mapping[str, str], texts: Catalogue | None = None) -> str:
    """widget.js with its texts and the club's name (`club`, by language) written in."""
    texts = texts or catalogue()
    table: dict[str, dict[str, str]] = {
        language: texts.area("widget", language) for language in LANGUAGES
    }
    table["club"] = {language: club.get(language, "") for language in LANGUAGES}
    source = (STATIC / "widget.js").read_text(encoding="utf-8")
    if source.count(TEXTS_MARKER) != 1:
        raise RuntimeError(f"{STATIC / 'widget.js'}: expected {TEXTS_MARKER!r} once")
    # ASCII only, and no "<": no text can end a line or the script (even pasted in a page).
    table_json = json.dumps(table, ensure_ascii=True, sort_keys=True).replace("<", "\\u003c")
    return source.replace(TEXTS_MARKER, table_json)


def _gate(request: Request | WebSocket) -> WidgetSessions:
    gate: WidgetSessions = request.app.state.widget
    return gate


def _db(request: Request | WebSocket) -> sessionmaker[Session]:
    db: sessionmaker[Session] = request.app.state.sessions
    return db


async def _count_refusal(request: Request | WebSocket, reason: str) -> None:
    """Count a refusal in its minute (`risk_counts`, fixture 0), beside the ticketing's."""
    try:
        await to_thread.run_sync(record_refusal, _db(request), 0, reason, utcnow())
    except SQLAlchemyError as exc:  # the refusal stands; only its count is lost
        log.warning("widget refusal %s not counted: %s", reason, exc)


def _cors(request: Request, methods: str = "POST, OPTIONS") -> dict[str, str]:
    """Echo the page's origin: allowed origins read answers; refused ones read the error."""
    origin = request.headers.get("origin")
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": "Content-Type, Authorization",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _refused(request: Request, refusal: WidgetRefused, methods: str) -> JSONResponse:
    headers = _cors(request, methods)
    if refusal.retry_after_s is not None:
        headers["Retry-After"] = str(refusal.retry_after_s)
    log.info("widget request refused: %s (%s)", refusal.code, request.headers.get("origin"))
    return JSONResponse(
        error_body(refusal.code, refusal.message, refusal.field),
        status_code=refusal.status,
        headers=headers,
    )


async def _token_in(request: Request) -> str | None:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body: Any = json.loads(raw)
    except ValueError:
        raise WidgetRefused(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise WidgetRefused(400, "invalid_json", "The request body must be a JSON object.")
    unknown = sorted(set(body) - {"token"})
    if unknown:
        raise WidgetRefused(422, "unknown_field", f"{unknown[0]}: unknown field", unknown[0])
    token = body.get("token")
    if token is not None and not isinstance(token, str):
        raise WidgetRefused(422, "invalid_type", "token: a string is required", "token")
    return token


@router.options(f"{PREFIX}/sessions", include_in_schema=False)
@router.options(f"{PREFIX}/history", include_in_schema=False)
async def preflight(request: Request) -> Response:
    """CORS preflight (the real request is then checked for its origin)."""
    return Response(status_code=204, headers=_cors(request, "GET, POST, OPTIONS"))


@router.post(f"{PREFIX}/sessions")
async def open_session(request: Request) -> JSONResponse:
    """Open a widget session (or resume one with `{"token"}`); no API key, allowed origins
    only, rate-limited per client IP. Answers the conversation id and its token."""
    gate = _gate(request)
    try:
        token = await _token_in(request)
        ip = request.client.host if request.client else "unknown"
        opened = gate.open(request.headers.get("origin"), request.headers.get("host"), ip, token)
        if opened.previous is not None:
            await to_thread.run_sync(gate.check_standing, _db(request), opened.previous)
    except WidgetRefused as refusal:
        if refusal.code == "rate_limited":
            await _count_refusal(request, "widget_sessions")
        return _refused(request, refusal, "POST, OPTIONS")
    grant = opened.token
    desk: HandoffDesk = request.app.state.handoff
    snapshot = await to_thread.run_sync(
        lambda: history.load(desk.sessions, desk.queue, grant.conversation_id, with_messages=False)
    )
    body = {
        "conversation_id": grant.conversation_id,
        "token": grant.value,
        "expires_at": grant.expires,
        "resumed": opened.resumed,
        **snapshot.state_json(),
    }
    return JSONResponse(body, status_code=200 if opened.resumed else 201, headers=_cors(request))


@router.get(f"{PREFIX}/history")
async def conversation_history(
    request: Request,
    after: Annotated[
        int, Query(ge=0, le=MAX_ID, description="Only messages with a larger id.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=history.PAGE)] = history.PAGE,
) -> JSONResponse:
    """The widget conversation's status and messages (`Authorization: Bearer <token>`)."""
    gate = _gate(request)
    methods = "GET, OPTIONS"
    try:
        if request.headers.get("origin"):
            gate.check_origin(request.headers.get("origin"), request.headers.get("host"))
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise WidgetRefused(401, "unauthorized", "Missing widget token (Authorization).")
        grant = gate.verify(token.strip())
        await to_thread.run_sync(gate.check_standing, _db(request), grant)
    except WidgetRefused as refusal:
        return _refused(request, refusal, methods)
    desk: HandoffDesk = request.app.state.handoff
    snapshot = await to_thread.run_sync(
        history.load, desk.sessions, desk.queue, grant.conversation_id, after, limit
    )
    body = {"conversation_id": grant.conversation_id, **snapshot.state_json()}
    body["messages"] = snapshot.messages
    return JSONResponse(body, headers=_cors(request, methods))


@router.websocket(f"{PREFIX}/ws")
async def widget_socket(websocket: WebSocket) -> None:
    """The widget's live conversation; the first frame is `{"type": "hello", "token"}`.

    Open sockets are capped per client address (counted from the handshake, hello or not)
    and per conversation (from the hello); a refused one is closed with 4429 and the cap
    (`too_many_connections` / `too_many_tabs`) as the reason. Slots are given back however
    the socket ends."""
    gate = _gate(websocket)
    try:
        gate.check_origin(websocket.headers.get("origin"), websocket.headers.get("host"))
    except WidgetRefused as refusal:
        log.info("widget socket refused: %s (%s)", refusal.code, websocket.headers.get("origin"))
        await websocket.close(POLICY_VIOLATION)  # before accept: the browser sees HTTP 403
        return
    await websocket.accept()
    with contextlib.ExitStack() as slots:
        try:
            slots.enter_context(gate.address_socket(client_address(websocket)))
        except WidgetRefused as refusal:
            await _refuse_socket(websocket, refusal)
            return
        hello = await _hello(websocket, gate)
        if hello is None:
            return
        grant, after = hello
        try:
            slots.enter_context(gate.conversation_socket(grant.conversation_id))
        except WidgetRefused as refusal:
            await _refuse_socket(websocket, refusal)
            return
        service: ConversationService = websocket.app.state.conversations
        desk: HandoffDesk = websocket.app.state.handoff
        live: LiveSockets = websocket.app.state.widget_sockets
        await WidgetSocket(websocket, grant, service, desk, after, live).run()


async def _hello(
    websocket: WebSocket, gate: WidgetSessions
) -> tuple[tokens.WidgetToken, int] | None:
    """The grant of the socket's hello and the message id it has; None (socket closed)
    when there is no valid hello in time."""
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT_S)
        hello = frames.parse(raw)
        if not isinstance(hello, frames.Hello):
            raise frames.Refusal("hello_required", "The first frame must be hello.")
        grant = gate.verify(hello.token)
        await to_thread.run_sync(gate.check_standing, _db(websocket), grant)
    except (TimeoutError, WebSocketDisconnect, KeyError, RuntimeError):
        await _close_quietly(websocket, POLICY_VIOLATION)
        return None
    except frames.Refusal as refusal:
        await websocket.send_json(refusal.as_json())
        await _close_quietly(websocket, UNAUTHORISED)
        return None
    except WidgetRefused as refusal:
        await websocket.send_json(
            {"type": "error", "code": refusal.code, "message": refusal.message}
        )
        await _close_quietly(websocket, UNAUTHORISED)
        return None
    return grant, hello.after


async def _refuse_socket(websocket: WebSocket, refusal: WidgetRefused) -> None:
    """Over a cap: say so, close with 4429 (the widget waits before retrying), count it."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_json(
            {"type": "error", "code": refusal.code, "message": refusal.message}
        )
    await _close_quietly(websocket, TOO_MANY_SOCKETS, refusal.code)
    log.info("widget socket refused: %s (%s)", refusal.code, client_address(websocket))
    await _count_refusal(websocket, "widget_sockets")


async def _close_quietly(websocket: WebSocket, code: int, reason: str | None = None) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # closed by the client
        await websocket.close(code, reason)


def _club_names(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return club_names(session)


@router.get("/widget.js", include_in_schema=False)
async def widget_script(request: Request) -> Response:
    """The embeddable widget (plain JavaScript, no build step), with its texts."""
    source: str | None = request.app.state.widget_script
    if source is None:
        names = await to_thread.run_sync(_club_names, request.app.state.sessions)
        source = widget_script_source(names)
        if names:  # kept once the club is loaded (`desk prepare` may come after start)
            request.app.state.widget_script = source
    return Response(source, media_type="text/javascript; charset=utf-8", headers=SCRIPT_HEADERS)


@router.get("/", include_in_schema=False)
async def demo_page() -> HTMLResponse:
    """The demo club's page, with the widget embedded as a club would."""
    html = (STATIC / "demo.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers=DEMO_HEADERS)


@router.get("/widget-demo.css", include_in_schema=False)
async def demo_style() -> FileResponse:
    """The demo page's own styles (the widget's are inside its shadow root)."""
    return FileResponse(
        STATIC / "demo.css", media_type="text/css; charset=utf-8", headers=DEMO_HEADERS
    )
