"""Telegram says no: 429 flood limits are waited out without losing or reordering
replies; a fan who blocked the bot (403) is recorded and not retried; the bot keeps
serving everyone else."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from bot.channels.telegram.models import TelegramChat
from core.db import engine_for, make_sessionmaker
from tests.bot.channels.telegram.conftest import TelegramDesk
from tests.support.telegram_api import text_message

_users = itertools.count(80_000)


def blocked_at(desk: TelegramDesk, chat_id: int) -> object:
    with make_sessionmaker(engine_for(desk.database_url))() as session:
        return session.scalar(
            select(TelegramChat.blocked_at).where(TelegramChat.chat_id == chat_id)
        )


def test_a_flood_limit_is_waited_out_and_replies_stay_in_order(polling: TelegramDesk) -> None:
    fan = next(_users)
    polling.api.fail(fan, 429, times=2, retry_after=1)
    polling.api.push(text_message(fan, "first question"))
    polling.api.push(text_message(fan, "second question"))
    polling.api.push(text_message(fan, "third question"))
    texts = polling.api.wait_texts(fan, 3 + 2)  # two refused attempts are recorded too
    delivered = [t for t in texts if "bot answer" in t]
    assert delivered == [
        "(en) bot answer: first question",
        "(en) bot answer: first question",
        "(en) bot answer: first question",  # 429, 429, then accepted
        "(en) bot answer: second question",
        "(en) bot answer: third question",
    ]
    sends = polling.api.calls_to(fan, "sendMessage")
    assert sends[2].at - sends[0].at >= 2.0, "retry_after (1 s) was honoured twice"


def test_a_blocked_bot_is_recorded_and_not_retried(polling: TelegramDesk) -> None:
    fan, other = next(_users), next(_users)
    polling.api.fail(fan, 403, times=-1)
    polling.api.push(text_message(fan, "hello?"))
    polling.api.wait_for(lambda: polling.api.calls_to(fan, "sendMessage"), what="the 403")
    polling.api.wait_for(lambda: blocked_at(polling, fan) is not None, what="block recorded")
    assert len(polling.api.calls_to(fan, "sendMessage")) == 1, "a 403 is not retried"

    polling.api.push(text_message(other, "are you there?"))
    assert polling.api.wait_texts(other, 1) == ["(en) bot answer: are you there?"]

    # The fan unblocks the bot and writes again: served again.
    polling.api.failures.pop(fan)
    polling.api.push(text_message(fan, "I'm back"))
    texts = polling.api.wait_texts(fan, 2)
    assert texts[-1] == "(en) bot answer: I'm back"
    assert blocked_at(polling, fan) is None
