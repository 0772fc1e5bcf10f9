"""A live gateway with the widget enabled for one allowed origin, over a fake Rasa."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.sync.client import ClientConnection, connect

from bot.api.app import MAX_WS_MESSAGE_BYTES, create_app
from core.settings import Settings
from tests.conftest import make_settings
from tests.support.fake_rasa import FakeRasa, fake_rasa
from tests.support.server import free_port

CLUB = "https://club.example"
MEDIA_SECRET = "widget-test-media-secret"


@pytest.fixture(scope="session")
def rasa() -> Iterator[FakeRasa]:
    with fake_rasa() as fake:
        yield fake


class Socket:
    """A widget's socket: send frames as dicts, read them back as dicts."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    def send(self, body: dict[str, Any] | str | bytes) -> None:
        self.connection.send(body if isinstance(body, str | bytes) else json.dumps(body))

    def receive(self, timeout: float = 10) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.connection.recv(timeout))
        return frame

    def until(self, kind: str, timeout: float = 10) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read up to the first frame of `kind`; returns it and every frame before it."""
        before: list[dict[str, Any]] = []
        while True:
            frame = self.receive(timeout)
            if frame["type"] == kind:
                return frame, before
            before.append(frame)

    def say(self, client_id: str, text: str, **extra: Any) -> list[dict[str, Any]]:
        """Send a fan message; the frames up to and including its ack."""
        self.send({"type": "message", "id": client_id, "text": text, **extra})
        ack, before = self.until("ack")
        assert ack["id"] == client_id
        return [*before, ack]

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@dataclass
class WidgetDesk:
    """The gateway's address and helpers to act as a widget on an allowed page."""

    base_url: str
    app: FastAPI

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/api/v1/widget/ws"

    def open_session(self, origin: str | None = CLUB, **body: Any) -> httpx.Response:
        headers = {"Origin": origin} if origin else {}
        return httpx.post(
            f"{self.base_url}/api/v1/widget/sessions", json=body, headers=headers, timeout=10
        )

    def session(self) -> dict[str, Any]:
        response = self.open_session()
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def connect(self, origin: str = CLUB) -> Socket:
        return Socket(connect(self.ws_url, origin=origin, open_timeout=10))  # type: ignore[arg-type]

    def socket(self, token: str, after: int = 0) -> Socket:
        """A signed-in socket, past its `welcome` frame."""
        socket = self.connect()
        socket.send({"type": "hello", "token": token, "after": after})
        welcome = socket.receive()
        assert welcome["type"] == "welcome", welcome
        return socket

    def history(self, token: str, after: int = 0) -> httpx.Response:
        return httpx.get(
            f"{self.base_url}/api/v1/widget/history",
            params={"after": after},
            headers={"Authorization": f"Bearer {token}", "Origin": CLUB},
            timeout=10,
        )


def widget_settings(database_url: str, rasa: FakeRasa, **overrides: str) -> Settings:
    values = {
        "MATCHDAY_RASA_PORT": str(rasa.port),
        "MATCHDAY_MEDIA_SECRET": MEDIA_SECRET,
        "MATCHDAY_WIDGET_ORIGINS": f"{CLUB}, http://localhost:8080/",
        **overrides,
    }
    return make_settings(database_url, **values)


@contextmanager
def serving(settings: Settings) -> Iterator[WidgetDesk]:
    """The gateway over real HTTP on a free port; the app stays reachable for the test."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws_max_size=MAX_WS_MESSAGE_BYTES,  # as `desk serve` runs the gateway
            proxy_headers=False,  # as `desk serve`: the app applies the trusted proxies
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("test gateway did not start")
        time.sleep(0.05)
    try:
        yield WidgetDesk(base, app)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def widget(sqlite_url: str, rasa: FakeRasa) -> Iterator[WidgetDesk]:
    with serving(widget_settings(sqlite_url, rasa)) as desk:
        yield desk
