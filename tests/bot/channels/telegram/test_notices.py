"""Proactive notices on Telegram: an order made outside the chat is confirmed with
its QR tickets as photos; a fan who blocked the bot fails the notice once, for good."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.notifications.models import Notice
from tests.bot.channels.telegram.conftest import TelegramDesk, telegram_desk
from tests.conftest import TEST_API_KEY
from tests.support import orders
from tests.support.databases import migrated
from tests.support.fake_rasa import FakeRasa
from tests.ticketing.conftest import Club, load_club


@pytest.fixture(scope="module")
def shop(
    tmp_path_factory: pytest.TempPathFactory, rasa: FakeRasa
) -> Iterator[tuple[TelegramDesk, Club]]:
    folder = tmp_path_factory.mktemp("notices")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MATCHDAY_KEYS_DIR", str(folder / "keys"))
        url = migrated(f"sqlite:///{folder / 'desk.db'}")
        club = load_club(url, Path(folder) / "club")
        with telegram_desk(url, rasa) as desk:
            yield desk, club


def buy(desk: TelegramDesk, club: Club, customer: str, quantity: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
    with httpx.Client(base_url=desk.base_url, headers=headers, timeout=30) as client:
        return orders.buy(client, customer, club.fixture, quantity)


def notice_status(club: Club, key: str) -> str | None:
    with club.db() as session:
        return session.scalar(select(Notice.status).where(Notice.dedupe_key == key))


def test_an_order_made_elsewhere_is_confirmed_with_qr_photos(
    shop: tuple[TelegramDesk, Club],
) -> None:
    desk, club = shop
    fan = 4242
    order = buy(desk, club, f"tg:{fan}", 2)
    photos = desk.api.wait_for(
        lambda: len(p := desk.api.calls_to(fan, "sendPhoto")) >= 2 and p, what="two QR photos"
    )
    [confirmation] = desk.api.calls_to(fan, "sendMessage")
    assert confirmation.text.startswith(f"Order {order['order_id']} is confirmed: 2 ticket(s)")
    assert confirmation.at < photos[0].at, "the text comes before the tickets"
    for number, photo in enumerate(photos, start=1):
        assert photo.photo_bytes is not None and photo.photo_bytes.startswith(b"\x89PNG")
        assert photo.text.startswith(f"Ticket {number}/2: seat ")
    desk.api.wait_for(lambda: notice_status(club, f"order:{order['order_id']}") == "sent")
    time.sleep(1.0)  # five more dispatcher rounds (every 0.2 s): nothing is sent twice
    assert len(desk.api.calls_to(fan, "sendPhoto")) == 2


def test_a_blocked_fan_fails_the_notice_without_retries(shop: tuple[TelegramDesk, Club]) -> None:
    desk, club = shop
    fan = 4343
    desk.api.fail(fan, 403, times=-1)
    order = buy(desk, club, f"tg:{fan}", 1)
    key = f"order:{order['order_id']}"
    desk.api.wait_for(lambda: notice_status(club, key) == "failed", what="the failed notice")
    attempts = len(desk.api.calls_to(fan, "sendMessage", "sendPhoto"))
    assert attempts == 1
    with club.db() as session:
        error = session.scalar(select(Notice.last_error).where(Notice.dedupe_key == key))
    assert "blocked" in (error or "")
