"""Fixtures of the handoff tests: a fake Rasa, a live gateway, agents that sign in."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.handoff.agents import create_agent
from core.db import engine_for, make_sessionmaker
from core.settings import Settings
from tests.conftest import TEST_API_KEY, make_settings
from tests.support.fake_rasa import FakeRasa, fake_rasa
from tests.support.server import live_gateway

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def rasa() -> Iterator[FakeRasa]:
    """One scripted fake Rasa for the whole session (stateless per conversation)."""
    with fake_rasa() as fake:
        yield fake


def desk_settings(database_url: str, rasa: FakeRasa) -> Settings:
    """Gateway settings pointing at the fake Rasa."""
    return make_settings(database_url, MATCHDAY_RASA_PORT=str(rasa.port))


@dataclass
class Desk:
    """A live gateway and helpers to play fans and agents against it."""

    base_url: str
    database_url: str

    def fan(self, conversation_id: str, text: str, **extra: Any) -> dict[str, Any]:
        """A fan's message through the REST API; returns the body (asserts 200)."""
        response = httpx.post(
            f"{self.base_url}/api/v1/conversations/{conversation_id}/messages",
            json={"text": text, **extra},
            headers={"Authorization": f"Bearer {TEST_API_KEY}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def history(self, conversation_id: str) -> dict[str, Any]:
        """The fan-side transcript."""
        response = httpx.get(
            f"{self.base_url}/api/v1/conversations/{conversation_id}/messages",
            headers={"Authorization": f"Bearer {TEST_API_KEY}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def add_agent(self, username: str, role: str = "agent", languages: str = "en,zh") -> str:
        """Create an account directly in the database; returns the username."""
        sessions = make_sessionmaker(engine_for(self.database_url))
        create_agent(
            sessions,
            username,
            PASSWORD,
            role,  # type: ignore[arg-type]
            languages=languages.split(","),
            display_name=username.capitalize(),
        )
        return username

    def login(self, username: str, password: str = PASSWORD) -> httpx.Client:
        """A bearer-token client signed in as `username`."""
        response = httpx.post(
            f"{self.base_url}/api/v1/agent/session",
            json={"username": username, "password": password},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        token = response.json()["token"]
        return httpx.Client(
            base_url=f"{self.base_url}/api/v1/agent",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def agent(self, username: str, role: str = "agent", languages: str = "en,zh") -> httpx.Client:
        """Create and sign in an agent (who is then online)."""
        self.add_agent(username, role, languages)
        return self.login(username)


@pytest.fixture
def desk(sqlite_url: str, rasa: FakeRasa) -> Iterator[Desk]:
    """A live gateway on SQLite talking to the fake Rasa."""
    with live_gateway(desk_settings(sqlite_url, rasa)) as base_url:
        yield Desk(base_url, sqlite_url)


def new_id(prefix: str = "fan") -> str:
    """A fresh conversation id."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ws_url(base_url: str) -> str:
    """The agent WebSocket URL of a gateway."""
    return base_url.replace("http://", "ws://") + "/api/v1/agent/ws"


def bearer(client: httpx.Client) -> dict[str, str]:
    """The Authorization header of a signed-in client."""
    return {"Authorization": client.headers["Authorization"]}
