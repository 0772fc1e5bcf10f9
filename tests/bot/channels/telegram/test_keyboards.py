"""Button payloads fit Telegram's 64-byte callback_data, inline or as stored tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.channels.telegram.keyboards import CallbackStore
from bot.channels.telegram.models import CallbackToken
from bot.conversations.service import Button
from core.clock import utcnow
from core.db import engine_for, make_sessionmaker, write_session


def store(url: str) -> CallbackStore:
    return CallbackStore(make_sessionmaker(engine_for(url)))


def test_short_payloads_travel_inline_and_long_ones_as_tokens(database_url: str) -> None:
    callbacks = store(database_url)
    short = '/inform{"quantity":"2"}'
    long = '/faq_other{"faq_id":"' + "x" * 80 + '"}'
    chinese = '/inform{"category":"' + "二等座" * 10 + '"}'  # 3 bytes a character
    assert callbacks.data_for(short) == f"p:{short}"
    for payload in (long, chinese):
        data = callbacks.data_for(payload)
        assert data.startswith("t:") and len(data.encode()) <= 64
        assert callbacks.payload_of(data) == payload
    assert callbacks.payload_of(f"p:{short}") == short


def test_unknown_and_expired_data_resolve_to_nothing(database_url: str) -> None:
    callbacks = store(database_url)
    assert callbacks.payload_of("t:never-issued") is None
    assert callbacks.payload_of("random") is None
    assert callbacks.payload_of("p:") is None
    assert callbacks.payload_of(None) is None
    data = callbacks.data_for("/x" + "y" * 100)
    sessions = make_sessionmaker(engine_for(database_url))
    with write_session(sessions) as session:
        session.execute(
            update(CallbackToken)
            .where(CallbackToken.token == data[2:])
            .values(created_at=utcnow() - timedelta(days=31))
        )
    assert callbacks.payload_of(data) is None
    assert callbacks.prune() == 1


def test_keyboards_have_two_buttons_a_row(database_url: str) -> None:
    callbacks = store(database_url)
    assert callbacks.keyboard([]) is None
    markup = callbacks.keyboard([Button(str(n), f"/inform{{'n':{n}}}") for n in range(5)])
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["0", "1"],
        ["2", "3"],
        ["4"],
    ]
