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
port, when the supervisor has to kill it.
"""

from __future__ import annotations

import hmac
import logging
import zlib
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

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


def create_app(secret: str, package: str = "actions") -> Sanic[Any, Any]:
    """The rasa-sdk action server for `package`, answering only callers with `secret`."""
    if not secret:
        raise ValueError("MATCHDAY_ACTIONS_SECRET is empty: the action server would be open")
    from rasa_sdk.endpoint import create_app as create_sdk_app
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package(package)
    app: Sanic[Any, Any] = create_sdk_app(executor, cors_origins=None)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES

    @app.on_request
    async def guard(request: Request) -> HTTPResponse | None:
        if not authorized(request.headers.get("authorization"), secret):
            return _error(401, "unauthorized", "the action server answers the desk only")
        encoding = request.headers.get("content-encoding")
        if encoding == "deflate" and not inflated_size_ok(request.body or b""):
            return _error(413, "payload_too_large", "the decompressed body is too large")
        return None

    return app


def main() -> None:
    """Serve the desk's actions until stopped."""
    from rasa_sdk import utils

    settings = get_settings()
    level = settings.log_level.upper()
    utils.configure_colored_logging(level)
    logging.getLogger("sanic.access").setLevel(logging.WARNING)
    app = create_app(settings.actions_secret)
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
