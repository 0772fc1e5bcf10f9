"""The Telegram channel in webhook mode: setWebhook at start-up, the secret-token
header checked, real Update JSON posted to the gateway, malformed bodies refused;
and the handoff round trip: /human, an agent claims and replies, Telegram gets it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.handoff.agents import create_agent
from core.db import engine_for, make_sessionmaker
from tests.bot.channels.telegram.conftest import WEBHOOK_SECRET, TelegramDesk, telegram_desk
from tests.support.fake_rasa import FakeRasa
from tests.support.telegram_api import (
    button_press,
    photo_message,
    text_message,
)

WEBHOOK_URL = "https://desk.example.org/telegram/webhook"
PASSWORD = "agent password 123"
_users = itertools.count(90_000)
_updates = itertools.count(1)


@pytest.fixture(scope="module")
def webhook(module_db: str, rasa: FakeRasa) -> Iterator[TelegramDesk]:
    with telegram_desk(
        module_db,
        rasa,
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_URL=WEBHOOK_URL,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
    ) as desk:
        desk.api.wait_for(lambda: desk.api.method_calls("setWebhook"), 20, "setWebhook")
        yield desk


def post(desk: TelegramDesk, body: Any, secret: str | None = WEBHOOK_SECRET) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    if isinstance(body, dict) and "update_id" not in body:
        body = {"update_id": next(_updates), **body}
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    return httpx.post(f"{desk.base_url}/telegram/webhook", headers=headers, timeout=10, **kwargs)


def test_the_webhook_is_registered_with_its_secret(webhook: TelegramDesk) -> None:
    [call] = webhook.api.method_calls("setWebhook")
    assert call.params["url"] == WEBHOOK_URL
    assert call.params["secret_token"] == WEBHOOK_SECRET
    assert "callback_query" in call.params["allowed_updates"]
    assert webhook.api.method_calls("getUpdates") == [], "no polling in webhook mode"


def test_a_wrong_or_missing_secret_is_refused(webhook: TelegramDesk) -> None:
    fan = next(_users)
    for secret in (None, "", "not-the-secret"):
        response = post(webhook, text_message(fan, "hi"), secret=secret)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert webhook.api.calls_to(fan) == []


def test_malformed_updates_are_refused_and_the_bot_keeps_serving(webhook: TelegramDesk) -> None:
    for body in (b"{not json", b"[]", {"update_id": "abc"}, {"message": {"text": 5}}):
        response = post(webhook, body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "malformed_update"
    fan = next(_users)
    assert post(webhook, text_message(fan, "still there?")).status_code == 200
    assert webhook.api.wait_texts(fan, 1) == ["(en) bot answer: still there?"]


def test_a_chinese_fan_a_button_and_a_photo(webhook: TelegramDesk) -> None:
    fan = next(_users)
    assert post(webhook, text_message(fan, "show me buttons", "zh-hans")).status_code == 200
    webhook.api.wait_texts(fan, 1)
    [offer] = webhook.api.calls_to(fan, "sendMessage")
    data = offer.keyboard[0][0]["callback_data"]
    assert post(webhook, button_press(fan, data, "zh-hans")).status_code == 200
    assert webhook.api.wait_texts(fan, 2)[1] == '(zh) bot answer: /inform{"category":"cat1"}'
    assert post(webhook, photo_message(fan, "zh-hans")).status_code == 200
    assert (
        webhook.api.wait_texts(fan, 3)[2]
        == "抱歉，我只能读文字消息。请直接输入你的问题，或者点按钮。"
    )


def test_human_and_an_agent_reply_reach_telegram(webhook: TelegramDesk) -> None:
    sessions = make_sessionmaker(engine_for(webhook.database_url))
    create_agent(sessions, "tg-agent", PASSWORD, "agent", languages=["en", "zh"])
    login = httpx.post(
        f"{webhook.base_url}/api/v1/agent/session",
        json={"username": "tg-agent", "password": PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    agent = httpx.Client(
        base_url=f"{webhook.base_url}/api/v1/agent",
        headers={"Authorization": f"Bearer {login.json()['token']}"},
        timeout=10,
    )
    fan = next(_users)
    assert post(webhook, text_message(fan, "/human")).status_code == 200
    queued = webhook.api.wait_texts(fan, 1)
    assert "queue" in queued[-1]
    conversation = f"tg-{fan}"
    assert agent.post(f"/conversations/{conversation}/claim").status_code == 200
    reply = agent.post(
        f"/conversations/{conversation}/messages", json={"text": "Hi, Alice here. How can I help?"}
    )
    assert reply.status_code == 201
    texts = webhook.api.wait_for(
        lambda: "Hi, Alice here. How can I help?" in (t := webhook.api.texts_to(fan)) and t,
        what="the agent's reply on Telegram",
    )
    assert texts.index("Hi, Alice here. How can I help?") > 0
    # While the agent has the chat the bot is silent: the fan's words go to the agent.
    before = len(webhook.rasa.received)
    assert post(webhook, text_message(fan, "thanks Alice")).status_code == 200
    view = webhook.api.wait_for(
        lambda: any(
            m["text"] == "thanks Alice"
            for m in agent.get(f"/conversations/{conversation}").json()["messages"]
        ),
        what="the fan's message at the agent",
    )
    assert view
    assert len(webhook.rasa.received) == before
    agent.close()


def test_an_update_is_handled_under_the_id_of_the_request_that_brought_it(
    webhook: TelegramDesk, rasa: FakeRasa
) -> None:
    fan = next(_users)
    body = {"update_id": next(_updates), **text_message(fan, "trace me")}
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "X-Request-ID": "tg-upd-1"}
    response = httpx.post(
        f"{webhook.base_url}/telegram/webhook", headers=headers, json=body, timeout=10
    )
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "tg-upd-1"
    assert webhook.api.wait_texts(fan, 1) == ["(en) bot answer: trace me"]
    [sent] = [r for r in rasa.received if r["message"] == "trace me"]
    assert sent["metadata"]["correlation_id"] == "tg-upd-1"
