"""The gateway application: the API, the channels (web widget, Telegram) and the agent console."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import anyio
from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.api.access_log import redact_query_strings
from bot.api.correlation import CorrelationIds
from bot.api.errors import error_response, install_error_handlers
from bot.api.routes import (
    agent,
    conversations,
    fixtures,
    gate,
    health,
    holds,
    media,
    metrics,
    orders,
    risk,
    tickets,
    triage,
)
from bot.api.scan_batches import ScanBatcher
from bot.channels import runtime as channels
from bot.channels.telegram import webhook as telegram_webhook
from bot.channels.telegram.config import telegram_config
from bot.channels.webchat import routes as webchat
from bot.console import routes as console
from bot.conversations.service import ConversationService, Pressure
from bot.handoff.desk import HandoffDesk
from bot.knowledge_base import publish
from bot.rasa.client import RasaClient
from core.db import engine_for, make_sessionmaker
from core.settings import Settings, get_settings
from knowledge.shared import SharedRetriever

MAX_BODY_BYTES = 64 * 1024
# uvicorn's cap on one WebSocket message (`ws_max_size`, default 16 MiB): a bigger one
# closes the socket (1009) before the app sees it. Above the widget's own frame limit
# (frames.MAX_FRAME_BYTES), so a frame a little too long still gets the widget's error
# frame and the socket stays open. `desk serve` and the tests' servers both pass it.
MAX_WS_MESSAGE_BYTES = 64 * 1024

log = logging.getLogger("matchday.gateway")


class BodyTooLarge(StarletteHTTPException):
    """More than MAX_BODY_BYTES of request body arrived.

    An HTTPException, so that FastAPI passes it on from its body parsing (it turns other
    errors there into a 400) and the error handlers answer it in the error shape.
    """

    def __init__(self) -> None:
        super().__init__(413, f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")


def _limited(receive: Receive) -> Receive:
    """`receive` that counts the body bytes it passes on and refuses past the limit."""
    arrived = 0

    async def receive_limited() -> Message:
        nonlocal arrived
        message = await receive()
        if message["type"] == "http.request":
            arrived += len(message.get("body", b""))
            if arrived > MAX_BODY_BYTES:
                raise BodyTooLarge()
        return message

    return receive_limited


class BodyLimit:
    """Refuse request bodies over MAX_BODY_BYTES, on every route, before anything else.

    A declared Content-Length over the limit is answered 413 at once. A body without one
    (chunked) is counted as it is read and refused once more than the limit has arrived,
    nothing buffered here. That holds before any authentication: FastAPI reads a body
    before a route's dependencies run, and a route that never reads its body never holds
    it. A Content-Length within the limit needs no counting: the server passes on no
    more than it declares. A plain ASGI middleware: Starlette's
    BaseHTTPMiddleware costs a task, a stream and a body wrapper per request (about a
    tenth of the gateway's CPU under load).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():  # bytes: ASCII digits only
                    break  # the server refuses it; count what arrives all the same
                if len(value) > 9 or int(value) > MAX_BODY_BYTES:
                    refusal = BodyTooLarge()
                    response = error_response(413, "payload_too_large", refusal.detail)
                    await response(scope, receive, send)
                    return
                await self.app(scope, receive, send)
                return
        await self.app(scope, _limited(receive), send)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    rasa = RasaClient(settings.rasa_urls, settings.rasa_token, settings.rasa_timeout_s)
    app.state.rasa = rasa
    pressure = Pressure(
        patience_s=settings.reply_patience_s,
        concurrency=settings.assistant_concurrency,
        queue=settings.assistant_queue,
        per_conversation=settings.conversation_queue,
    )
    conversations = ConversationService(
        app.state.sessions, rasa, handoff=app.state.handoff, pressure=pressure
    )
    app.state.conversations = conversations
    await channels.start(app)
    log.info("gateway ready on %s", settings.gateway_url)
    yield
    await channels.stop(app)
    with anyio.move_on_after(settings.rasa_timeout_s):  # answers still coming are stored
        await conversations.drain()
    await app.state.handoff.aclose()
    await rasa.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway (uvicorn calls this with `--factory`; tests pass settings)."""
    settings = settings or get_settings()
    redact_query_strings()  # uvicorn configured its loggers before it called this factory
    app = FastAPI(
        title="Matchday Desk",
        version="0.1.0",
        description="Support desk for football ticketing: conversations, triage, "
        "ticketing, handoff. Server-to-server calls carry `Authorization: Bearer <key>`: "
        "MATCHDAY_API_KEY, or a key of `desk api-keys create` whose scope (gate, read, "
        "full) covers the route (403 `insufficient_scope` otherwise). "
        'Errors are `{"error": {"code", "message", "field"?}}`; '
        "times are RFC 3339 UTC; money is integer minor units with an ISO 4217 currency.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.telegram_config = telegram_config(settings)  # a wrong combination stops start-up
    app.state.engine = engine_for(settings.database_url)
    app.state.sessions = make_sessionmaker(app.state.engine)
    app.state.scan_batcher = ScanBatcher(app.state.sessions)
    app.state.knowledge = SharedRetriever(settings)
    # Human handoff: validates data/handoff/*.yml now, so a bad policy stops start-up.
    app.state.handoff = HandoffDesk.from_settings(settings, app.state.sessions)
    app.state.on_knowledge_published = app.state.handoff.on_knowledge_published
    app.state.on_knowledge_published.append(partial(publish, app.state.knowledge))
    app.add_middleware(BodyLimit)
    install_error_handlers(app)
    # Routes are matched in this order, one by one: the match-day hot paths (gate
    # scans, holds, orders, chat messages) come first. Their prefixes are disjoint, so
    # the order changes the cost of routing only (a gate scan was checked against 51
    # routes when its router came last, 2 now).
    app.include_router(gate.router)
    app.include_router(holds.router)
    app.include_router(orders.router)
    app.include_router(conversations.router)
    app.include_router(health.router)
    app.include_router(triage.router)
    app.include_router(risk.router)
    app.include_router(fixtures.router)
    app.include_router(tickets.router)
    app.include_router(agent.router)
    app.include_router(console.router)
    app.include_router(media.router)
    app.include_router(metrics.router)
    app.include_router(telegram_webhook.router)
    webchat.install(app, settings)  # the web widget, its script and the demo page at /
    # A correlation id for each request, current for everything inside (core/correlation.py).
    app.add_middleware(CorrelationIds)
    # Outermost: every route, log line and budget sees the client as the trusted proxies
    # name it (uvicorn's own proxy handling is off, so this is the one place).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
