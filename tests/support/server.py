"""Real servers on real ports, in background threads, for HTTP tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.types import ASGIApp

from bot.api.app import MAX_WS_MESSAGE_BYTES, create_app
from core.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (the desk's Rasa servers take
    MATCHDAY_RASA_PORT and the ports after it)."""
    for _ in range(200):
        first = free_port()
        if first + count - 1 > 65535:
            continue
        try:
            with contextlib.ExitStack() as held:
                for port in range(first, first + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports")


@contextmanager
def serving(app: ASGIApp, port: int, probe: str, *, lifespan: str = "auto") -> Iterator[str]:
    """Serve `app` on `port` in a thread until `GET probe` answers; yields the base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan=lifespan,
        ws_max_size=MAX_WS_MESSAGE_BYTES,  # as `desk serve` runs the gateway
        proxy_headers=False,  # as `desk serve`: the app applies the trusted proxies
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}{probe}", timeout=1).status_code < 500:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"test server on port {port} did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def live_gateway(settings: Settings) -> Iterator[str]:
    """Serve `create_app(settings)` over HTTP on a free port; yields the base URL."""
    with serving(create_app(settings), free_port(), "/healthz", lifespan="on") as base:
        yield base
