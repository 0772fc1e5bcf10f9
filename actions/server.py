"""Starts the action server the way the desk needs it: `python -m actions.server`.

rasa-sdk's own `python -m rasa_sdk` binds every interface (`SANIC_HOST`, default
`0.0.0.0`) and answers anyone who posts a tracker, and the actions act on the
`customer` of whatever tracker they are sent. So the desk runs the same rasa-sdk
app (`rasa_sdk.endpoint.create_app`) with three guards in front of it:

- it listens on `MATCHDAY_ACTIONS_HOST` (127.0.0.1 unless changed);
- every request must carry `Authorization: Bearer <MATCHDAY_ACTIONS_SECRET>`, which
  Rasa sends from `endpoints.yml` (`action_endpoint.headers`); anything else gets 401
  before the body is parsed or any action runs;
- bodies are capped on the wire (Sanic's `REQUEST_MAX_SIZE`) and, when Rasa
  compresses them, after decompression too, so a small zlib bomb cannot take the
  process's memory.

It runs in a single process: no Sanic worker to be left orphaned, holding the
port, when the supervisor has to kill it. Each action runs on a worker thread with an
event loop of its own (`_run_here`), so the synchronous database and payment work of one
call never holds up the others; the FAQ retriever is opened at start (`warm_up`).

Each call is bound to the correlation id of the fan message it serves (the gateway's
`correlation_id` in the tracker's latest message metadata; core/correlation.py), so
every log line about it shows `[<id>]`, and one line per call says which action ran
for which conversation and how long it took. Its time goes to the metrics: the whole
call as `matchday_stage_seconds{stage="actions"}`, the action alone as
`matchday_action_seconds{action}` (core/metrics.py).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import sys
import threading
import time
import zlib
from collections.abc import Coroutine, Mapping
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from core import correlation, metrics
from core.settings import get_settings

log = logging.getLogger("matchday.actions")

# A tracker of a long conversation is a few hundred kilobytes of JSON.
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


def authorized(header: str | None, secret: str) -> bool:
    """Whether an `Authorization` header carries the shared secret (constant time)."""
    if not secret or not header or not header.startswith("Bearer "):
        return False
    given = header[len("Bearer ") :].encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given, secret.encode())


def inflated_size_ok(body: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bool:
    """Whether a deflate body decompresses to at most `limit` bytes (never more is made)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        return False
    return len(out) <= limit and not inflater.unconsumed_tail


def _field(value: object, name: str) -> object:
    return value.get(name) if isinstance(value, Mapping) else None


def correlation_id_of(action_call: Mapping[str, Any]) -> str | None:
    """The correlation id the gateway gave the fan message this call serves, if sane."""
    latest = _field(action_call.get("tracker"), "latest_message")
    return correlation.sane(_field(_field(latest, "metadata"), correlation.METADATA_KEY))


_thread = threading.local()


def _run_here(call: Coroutine[Any, Any, Any]) -> Any:
    """Run an action's coroutine to its end on this worker thread's own event loop.

    The actions read and write the database, check payments and search the FAQ index
    synchronously; on the server's event loop each call would stop every other one
    (a SQLite write lock waited for, a PostgreSQL round trip). On a worker thread
    (`asyncio.to_thread`, which carries the correlation id along) they wait on their own.
    """
    loop = getattr(_thread, "loop", None)
    if loop is None:
        loop = _thread.loop = asyncio.new_event_loop()
    return loop.run_until_complete(call)


def warm_up() -> None:
    """Open the FAQ retriever (sentence encoder, index) before the first fan asks."""
    from actions.answers import knowledge

    try:
        knowledge().current()
    except Exception:  # the first question opens it again and says why
        log.exception("the FAQ retriever could not be opened at start")


def _executor(package: str) -> Any:
    """rasa-sdk's executor for `package`, running each call under its correlation id
    and timing each action."""
    from rasa_sdk.executor import ActionExecutor

    class Executor(ActionExecutor):
        async def run(self, action_call: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            # Current until the next request on this connection: the SDK's own log lines
            # after the action (a rejection, an error) carry the id too.
            correlation.set_current(correlation_id_of(action_call))
            name = str(action_call.get("next_action") or "")
            sender = _field(action_call.get("tracker"), "sender_id")
            started = time.perf_counter()
            try:
                call = super().run(action_call, *args, **kwargs)
                if args or kwargs:  # a streaming transport's queue: stay on its loop
                    return await call
                return await asyncio.to_thread(_run_here, call)
            finally:
                seconds = time.perf_counter() - started
                metrics.observe_action(name if name in self.actions else "unknown", seconds)
                log.info("%s for %s: %.3f s", name or "(no action)", sender, seconds)

    executor = Executor()
    executor.register_package(package)
    return executor


def create_app(secret: str, package: str = "actions") -> Sanic[Any, Any]:
    """The rasa-sdk action server for `package`, answering only callers with `secret`."""
    if not secret:
        raise ValueError("MATCHDAY_ACTIONS_SECRET is empty: the action server would be open")
    from rasa_sdk.endpoint import create_app as create_sdk_app

    app: Sanic[Any, Any] = create_sdk_app(_executor(package), cors_origins=None)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES

    @app.on_request
    async def guard(request: Request) -> HTTPResponse | None:
        correlation.set_current(None)  # until the call names its message
        if not authorized(request.headers.get("authorization"), secret):
            return _error(401, "unauthorized", "the action server answers the desk only")
        encoding = request.headers.get("content-encoding")
        if encoding == "deflate" and not inflated_size_ok(request.body or b""):
            return _error(413, "payload_too_large", "the decompressed body is too large")
        if request.path == "/webhook":
            request.ctx.started = time.perf_counter()
        return None

    @app.on_response  # type: ignore[untyped-decorator]  # Sanic's is unannotated
    async def timed(request: Request, _response: HTTPResponse) -> None:
        started = getattr(request.ctx, "started", None)
        if started is not None:
            metrics.observe_stage("actions", time.perf_counter() - started)

    return app


def configure_logging(level: str) -> None:
    """Every line with its time, level, correlation id and logger (core/correlation.py)."""
    logging.basicConfig(level=level, format=correlation.FORMAT, stream=sys.stderr, force=True)
    correlation.install()


def main() -> None:
    """Serve the desk's actions until stopped."""
    settings = get_settings()
    configure_logging(settings.log_level.upper())
    logging.getLogger("sanic.access").setLevel(logging.WARNING)
    app = create_app(settings.actions_secret)
    warm_up()
    run: Any = app.run
    run(
        host=settings.actions_host,
        port=settings.actions_port,
        single_process=True,
        access_log=False,
        motd=False,
    )


if __name__ == "__main__":
    main()
