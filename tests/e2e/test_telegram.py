"""Fans on Telegram, against the whole desk (real Rasa, action server, gateway with
the aiogram bot inside) and a stand-in Bot API server over real HTTP, in polling
mode (webhook mode: tests/bot/channels/telegram/test_webhook.py).

One desk for the module: starting it costs ~40 s of CPU.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import yaml
from sqlalchemy import select

from bot.channels.telegram.models import TelegramChat
from bot.notifications.models import Notice
from core.db import engine_for, make_sessionmaker
from core.settings import ROOT
from tests.support.stack import Stack, running_desk
from tests.support.telegram_api import (
    BOT_TOKEN,
    Call,
    FakeBotApi,
    button_press,
    fake_bot_api,
    photo_message,
    text_message,
)

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
PASSWORD = "e2e telegram agent password"
HAN = re.compile(r"[\u4e00-\u9fff]")
_fans = itertools.count(610_000)


def response_text(name: str, language: str = "en") -> str:
    for variant in DOMAIN["responses"][name]:
        wanted = (variant.get("condition") or [{"value": "en"}])[0]["value"]
        if wanted == language:
            return str(variant["text"])
    raise KeyError(name)


@pytest.fixture(scope="module")
def telegram(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, FakeBotApi]]:
    with fake_bot_api() as api:
        env = {
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_SERVER": api.base_url,
            "MATCHDAY_OUTBOX_INTERVAL": "0.5",
            "MATCHDAY_OUTBOX_ORDER_GRACE": "1",
        }
        with running_desk(tmp_path_factory.mktemp("telegram-stack"), extra_env=env) as stack:
            api.wait_for(lambda: api.method_calls("getUpdates"), 60, "polling to start")
            yield stack, api


def messages(api: FakeBotApi, fan: int) -> list[Call]:
    return api.calls_to(fan, "sendMessage", "sendPhoto")


def say(api: FakeBotApi, fan: int, text: str, language: str = "en", wait: int = 1) -> list[Call]:
    """Send the fan's text; return the messages it got back (at least `wait` of them)."""
    before = len(messages(api, fan))
    api.push(text_message(fan, text, language))
    api.wait_for(lambda: len(messages(api, fan)) >= before + wait, 90, f"a reply to {text!r}")
    settle(api, fan)
    return messages(api, fan)[before:]


def settle(api: FakeBotApi, fan: int, quiet_s: float = 0.7) -> None:
    """Wait until the chat has had no new message for `quiet_s` (the turn is over)."""
    count, since = len(messages(api, fan)), time.monotonic()
    while time.monotonic() - since < quiet_s:
        time.sleep(0.05)
        now = len(messages(api, fan))
        if now != count:
            count, since = now, time.monotonic()


def press(api: FakeBotApi, fan: int, replies: list[Call], title: str, wait: int = 1) -> list[Call]:
    for reply in replies:
        for row in reply.keyboard:
            for button in row:
                if title in button["text"]:
                    before = len(messages(api, fan))
                    api.push(button_press(fan, button["callback_data"]))
                    api.wait_for(lambda n=before + wait: len(messages(api, fan)) >= n, 90, title)
                    settle(api, fan)
                    return messages(api, fan)[before:]
    raise AssertionError(f"no button {title!r} in {[r.keyboard for r in replies]}")


def first_fixture(stack: Stack) -> int:
    with stack.client() as client:
        fixtures = client.get("/api/v1/fixtures").json()
    items = fixtures["fixtures"] if isinstance(fixtures, dict) else fixtures
    return int(next(f for f in items if f["sale"] == "on_sale")["id"])


def test_start_greets_and_a_deep_link_opens_buying(telegram: tuple[Stack, FakeBotApi]) -> None:
    stack, api = telegram
    fan = next(_fans)
    [greeting] = say(api, fan, "/start")
    assert greeting.text == response_text("utter_greet")
    replies = say(api, fan, f"/start fixture_{first_fixture(stack)}")
    assert any(r.text.startswith("Where would you like to sit?") for r in replies)
    assert any(r.keyboard for r in replies), "the seating choices are an inline keyboard"


def test_a_fixture_question_and_a_chinese_fan(telegram: tuple[Stack, FakeBotApi]) -> None:
    _, api = telegram
    fan, zh_fan = next(_fans), next(_fans)
    replies = say(api, fan, "which matches are on in the next few weeks?")
    assert any("Riverside Athletic v" in r.text or " vs " in r.text for r in replies), replies
    zh = say(api, zh_fan, "最近有什么比赛？", language="zh-hans")
    assert zh and all(HAN.search(r.text) for r in zh), [r.text for r in zh]


def test_buying_with_buttons_sends_qr_photos_once(telegram: tuple[Stack, FakeBotApi]) -> None:
    stack, api = telegram
    fan = next(_fans)
    replies = say(api, fan, "I want tickets for the derby")
    assert any("Where would you like to sit" in r.text for r in replies)
    replies = press(api, fan, replies, "Category 1")
    assert any("How many tickets" in r.text for r in replies)
    replies = say(api, fan, "2 please")
    assert any("Shall I hold them" in r.text for r in replies)
    replies = press(api, fan, replies, "Yes")
    assert any("are yours until" in r.text for r in replies)
    replies = press(api, fan, replies, "Pay", wait=3)
    assert any(r.text.startswith("Paid! Order RA-") for r in replies)
    photos = [r for r in replies if r.method == "sendPhoto"]
    assert len(photos) == 2
    for photo in photos:
        assert photo.photo_bytes is not None and photo.photo_bytes.startswith(b"\x89PNG")
        assert photo.text.startswith("Ticket ")
    ref = re.search(r"RA-[A-Z0-9]+", replies[0].text)
    assert ref is not None
    # The order confirmation is not sent again: the chat already shows the tickets.
    sessions = make_sessionmaker(engine_for(stack.database_url))

    def confirmation() -> str | None:
        with sessions() as session:
            return session.scalar(
                select(Notice.status).where(Notice.dedupe_key == f"order:{ref.group(0)}")
            )

    api.wait_for(lambda: confirmation() in ("skipped", "sent", "failed"), 30, "the notice")
    assert confirmation() == "skipped"
    assert len(api.calls_to(fan, "sendPhoto")) == 2


def test_a_photo_gets_a_polite_text_reply(telegram: tuple[Stack, FakeBotApi]) -> None:
    _, api = telegram
    fan = next(_fans)
    api.push(photo_message(fan))
    [reply] = api.wait_for(lambda: messages(api, fan), 30)
    assert reply.method == "sendMessage" and "only read text" in reply.text


def test_human_and_an_agent_reply_on_telegram(telegram: tuple[Stack, FakeBotApi]) -> None:
    stack, api = telegram
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "desk"), "users", "create", "--username", "tg-e2e",
         "--role", "agent", "--languages", "en,zh"],
        input=PASSWORD + "\n", env=stack.env, cwd=ROOT, check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    login = httpx.post(
        f"{stack.base_url}/api/v1/agent/session",
        json={"username": "tg-e2e", "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    agent = httpx.Client(
        base_url=f"{stack.base_url}/api/v1/agent",
        headers={"Authorization": f"Bearer {login.json()['token']}"},
        timeout=30,
    )
    fan = next(_fans)
    queued = say(api, fan, "/human")
    assert any("queue" in r.text for r in queued), [r.text for r in queued]
    assert agent.post(f"/conversations/tg-{fan}/claim").status_code == 200
    sent = agent.post(f"/conversations/tg-{fan}/messages", json={"text": "Hi, Tom here."})
    assert sent.status_code == 201
    api.wait_for(lambda: "Hi, Tom here." in api.texts_to(fan), 30, "the agent's reply")
    agent.close()


def test_flood_limits_and_a_blocked_bot(telegram: tuple[Stack, FakeBotApi]) -> None:
    stack, api = telegram
    flooded, blocked = next(_fans), next(_fans)
    api.fail(flooded, 429, times=1, retry_after=1)
    api.push(text_message(flooded, "hi"))
    api.wait_for(lambda: len(api.calls_to(flooded, "sendMessage")) >= 2, 60, "the retry")
    first, second = api.calls_to(flooded, "sendMessage")[:2]
    assert first.text == second.text == response_text("utter_greet")
    assert second.at - first.at >= 1.0

    api.fail(blocked, 403, times=-1)
    api.push(text_message(blocked, "hi"))
    sessions = make_sessionmaker(engine_for(stack.database_url))

    def recorded() -> bool:
        with sessions() as session:
            chat = session.get(TelegramChat, blocked)
            return chat is not None and chat.blocked_at is not None

    api.wait_for(recorded, 60, "the block to be recorded")
    assert len(api.calls_to(blocked, "sendMessage")) == 1
    assert say(api, next(_fans), "hi")[0].text == response_text("utter_greet"), "still serving"
