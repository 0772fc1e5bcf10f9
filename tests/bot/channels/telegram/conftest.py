"""A live gateway with the Telegram channel on, a stand-in Bot API server and a
scripted Rasa, all over real HTTP (one set per test module)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.support.databases import migrated
from tests.support.fake_rasa import CHANNEL, FakeRasa, fake_rasa
from tests.support.server import live_gateway
from tests.support.telegram_api import BOT_TOKEN, FakeBotApi, fake_bot_api
from tests.ticketing.conftest import load_club

MEDIA_SECRET = "test-media-secret-0123456789"
WEBHOOK_SECRET = "test-webhook-secret_0123456789abcdef"


@dataclass
class TelegramDesk:
    """The gateway, its database, the stand-in Bot API and the fake Rasa."""

    base_url: str
    database_url: str
    api: FakeBotApi
    rasa: FakeRasa


@contextmanager
def telegram_desk(database_url: str, rasa: FakeRasa, **settings: Any) -> Iterator[TelegramDesk]:
    """Run a gateway whose Telegram channel talks to a fresh stand-in Bot API."""
    with fake_bot_api() as api:
        values: dict[str, Any] = {
            "MATCHDAY_RASA_PORT": str(rasa.port),
            "MATCHDAY_MEDIA_SECRET": MEDIA_SECRET,
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_SERVER": api.base_url,
            "MATCHDAY_OUTBOX_INTERVAL": "0.2",
            "MATCHDAY_OUTBOX_ORDER_GRACE": "0",
            **settings,
        }
        with live_gateway(make_settings(database_url, **values)) as base_url:
            yield TelegramDesk(base_url, database_url, api, rasa)


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    with fake_rasa(CHANNEL) as fake:
        yield fake


@pytest.fixture(scope="module")
def module_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with the test club loaded (the channel's texts name the club)."""
    folder: Path = tmp_path_factory.mktemp("telegram")
    url = migrated(f"sqlite:///{folder / 'desk.db'}")
    load_club(url, folder / "club")
    return url


@pytest.fixture(scope="module")
def polling(module_db: str, rasa: FakeRasa) -> Iterator[TelegramDesk]:
    """The channel in polling mode (the default)."""
    with telegram_desk(module_db, rasa) as desk:
        desk.api.wait_for(lambda: desk.api.method_calls("getUpdates"), 20, "polling to start")
        yield desk
