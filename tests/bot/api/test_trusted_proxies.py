"""MATCHDAY_TRUSTED_PROXIES: X-Forwarded-For names the client only when a trusted proxy
sends it, over real HTTP, for every route (the address the budgets and logs see)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import Request
from pydantic import ValidationError

from bot.api.app import create_app
from bot.conversations.sources import connection_source
from tests.conftest import make_settings
from tests.support.databases import migrated
from tests.support.server import free_port, serving

FAN = "203.0.113.9"


@contextmanager
def gateway(database: str, proxies: str) -> Iterator[str]:
    app = create_app(make_settings(database, MATCHDAY_TRUSTED_PROXIES=proxies))

    @app.get("/probe/source")
    async def probe(request: Request) -> dict[str, object]:
        return connection_source(request, origin=True).as_metadata()

    with serving(app, free_port(), "/healthz", lifespan="on") as base:
        yield base


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated(f"sqlite:///{Path(tmp_path_factory.mktemp('proxies')) / 'desk.db'}")


def test_a_trusted_proxy_names_the_client(database: str) -> None:
    with gateway(database, "127.0.0.1,::1") as base:
        # The proxy appends the address it saw; anything a client wrote before it is
        # further left and ignored.
        headers = {"X-Forwarded-For": f"10.9.9.9, {FAN}", "Origin": "https://club.example"}
        source = httpx.get(f"{base}/probe/source", headers=headers).json()
        plain = httpx.get(f"{base}/probe/source").json()
    assert source == {"address": FAN, "origin": "https://club.example"}
    assert plain == {"address": "127.0.0.1"}


def test_an_untrusted_sender_cannot_pick_its_address(database: str) -> None:
    with gateway(database, "10.0.0.0/24") as base:
        source = httpx.get(f"{base}/probe/source", headers={"X-Forwarded-For": FAN}).json()
    assert source == {"address": "127.0.0.1"}


def test_a_network_of_proxies_is_trusted(database: str) -> None:
    with gateway(database, "127.0.0.0/8") as base:
        source = httpx.get(f"{base}/probe/source", headers={"X-Forwarded-For": FAN}).json()
    assert source == {"address": FAN}


def test_a_wrong_entry_stops_start_up_naming_it(database: str) -> None:
    with pytest.raises(ValidationError, match=r"MATCHDAY_TRUSTED_PROXIES: 'proxy\.local'"):
        make_settings(database, MATCHDAY_TRUSTED_PROXIES="127.0.0.1, proxy.local")
