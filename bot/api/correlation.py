"""A correlation id for every request the gateway serves (core/correlation.py).

The client's `X-Request-ID` is kept when it is a sane token (at most 64 characters of
A-Z, a-z, 0-9, `.`, `_`, `-`), so a club's own system can follow its call through the
desk's logs by its own id; otherwise the gateway makes one. The id is current while the
request is served, so every log line about it (the access log's too) carries it, the
conversation service passes it on to Rasa, and the response echoes it in
`X-Request-ID`. A WebSocket connection gets one for its handshake and the lines that
are not about a message; the widget gives each fan message a fresh id of its own.

If the app fails, the id stays current: uvicorn serves each request in a task of its
own and logs the failure in it, so that line carries the id too.

A plain ASGI middleware, as `BodyLimit` (bot/api/app.py), for its cost per request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import correlation

_HEADER = correlation.HEADER.lower().encode()


def given_id(scope: Scope) -> str | None:
    """The client's `X-Request-ID`, when it is sane."""
    for name, value in scope["headers"]:
        if name == _HEADER:
            return correlation.sane(value.decode("latin-1"))
    return None


class CorrelationIds:
    """Binds a correlation id for each HTTP request and WebSocket connection, and echoes
    it in the response (or the WebSocket handshake's answer)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value = given_id(scope) or correlation.new_id()
        header = (_HEADER, value.encode())
        starts = ("http.response.start", "websocket.accept")

        async def send_with_id(message: Message) -> None:
            if message["type"] in starts:
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = correlation.set_current(value)
        await self.app(scope, receive, send_with_id)
        correlation.reset(token)
