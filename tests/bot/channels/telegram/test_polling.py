"""The Telegram channel in polling mode: aiogram inside the gateway, over real HTTP
to a stand-in Bot API server, with real Update JSON shapes."""

from __future__ import annotations

import itertools

import pytest

from core import correlation
from tests.bot.channels.telegram.conftest import TelegramDesk
from tests.support.fake_rasa import LONG_PAYLOAD, long_text
from tests.support.telegram_api import (
    button_press,
    edited_message,
    photo_message,
    sticker_message,
    text_message,
    voice_message,
)

_users = itertools.count(70_000)


def new_fan() -> int:
    return next(_users)


def sent_to_rasa(desk: TelegramDesk, chat_id: int) -> list[dict[str, object]]:
    return [r for r in desk.rasa.received if r["sender"] == f"tg-{chat_id}"]


def answered(desk: TelegramDesk, fan: int) -> int:
    """How many of the fan's button presses were answered (callback queries)."""
    return sum(
        1
        for c in desk.api.method_calls("answerCallbackQuery")
        if str(c.params["callback_query_id"]).startswith(f"cbq-{fan}-")
    )


def test_a_text_goes_through_the_conversation_service_and_back(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(text_message(fan, "when is the next match?"))
    texts = polling.api.wait_texts(fan, 1)
    assert texts == ["(en) bot answer: when is the next match?"]
    [body] = sent_to_rasa(polling, fan)
    metadata = body["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["channel"] == "telegram"
    assert metadata["customer"] == f"tg:{fan}"
    assert metadata["conversation_id"] == f"tg-{fan}"
    assert polling.api.calls_to(fan, "sendChatAction"), "typing is shown while waiting"


def test_the_telegram_language_code_picks_the_language(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(text_message(fan, "hello there", language_code="zh-hans"))
    assert polling.api.wait_texts(fan, 1) == ["(zh) bot answer: hello there"]


def test_language_command_overrides_the_telegram_language(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(text_message(fan, "/language", language_code="en"))
    polling.api.wait_texts(fan, 1)
    [prompt] = polling.api.calls_to(fan, "sendMessage")
    choices = [b["callback_data"] for row in prompt.keyboard for b in row]
    assert choices == ["lang:en", "lang:zh"]
    polling.api.push(button_press(fan, "lang:zh", language_code="en"))
    texts = polling.api.wait_texts(fan, 2)
    assert texts[1] == "好的，之后我会用中文回答。"
    assert answered(polling, fan) == 1
    polling.api.push(text_message(fan, "and now?", language_code="en"))
    assert polling.api.wait_texts(fan, 3)[2] == "(zh) bot answer: and now?"


def test_start_and_a_fixture_deep_link(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(text_message(fan, "/start"))
    polling.api.wait_texts(fan, 1)
    polling.api.push(text_message(fan, "/start fixture_7"))
    polling.api.wait_texts(fan, 2)
    polling.api.push(text_message(fan, "/start fixture_x; drop table"))
    polling.api.wait_texts(fan, 3)
    said = [r["message"] for r in sent_to_rasa(polling, fan)]
    assert said == ["/greet", '/buy_tickets{"fixture":"7"}', "/greet"]


def test_buttons_become_inline_keyboards_and_presses_reach_the_assistant(
    polling: TelegramDesk,
) -> None:
    fan = new_fan()
    polling.api.push(text_message(fan, "show me buttons"))
    polling.api.wait_texts(fan, 1)
    [offer] = polling.api.calls_to(fan, "sendMessage")
    buttons = [b for row in offer.keyboard for b in row]
    assert [b["text"] for b in buttons] == ["Category 1", "Step-free entry?"]
    for button in buttons:
        assert len(button["callback_data"].encode()) <= 64
    short, long = (b["callback_data"] for b in buttons)
    assert short == 'p:/inform{"category":"cat1"}'
    assert long.startswith("t:")  # too long for Telegram: a stored token

    polling.api.push(button_press(fan, long))
    polling.api.wait_texts(fan, 2)
    polling.api.push(button_press(fan, short))
    polling.api.wait_texts(fan, 3)
    said = [r["message"] for r in sent_to_rasa(polling, fan)]
    # The answer to the first press had no buttons: that keyboard is still the latest.
    assert said[1:] == [LONG_PAYLOAD, '/inform{"category":"cat1"}']
    assert answered(polling, fan) == 2
    assert polling.api.calls_to(fan, "editMessageReplyMarkup"), "a pressed keyboard goes away"


def test_unknown_callback_data_is_refused_politely_and_answered(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(button_press(fan, "t:no-such-token"))
    polling.api.push(button_press(fan, "something else entirely"))
    texts = polling.api.wait_texts(fan, 2)
    assert texts == ["Sorry, that button has expired. Please ask me again."] * 2
    assert answered(polling, fan) == 2
    assert sent_to_rasa(polling, fan) == []
    polling.api.push(text_message(fan, "still serving?"))
    assert polling.api.wait_texts(fan, 3)[2] == "(en) bot answer: still serving?"


def test_stickers_photos_and_voice_get_a_text_only_reply(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(sticker_message(fan))
    polling.api.push(photo_message(fan, language_code="zh"))
    polling.api.push(voice_message(fan))
    texts = polling.api.wait_texts(fan, 3)
    assert sorted(texts) == sorted(
        [
            "Sorry, I can only read text messages. Please type your question, or tap a button.",
            "抱歉，我只能读文字消息。请直接输入你的问题，或者点按钮。",
            "Sorry, I can only read text messages. Please type your question, or tap a button.",
        ]
    )
    assert polling.api.calls_to(fan, "sendPhoto") == []
    assert sent_to_rasa(polling, fan) == []


def test_an_edited_message_is_not_run_again(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(edited_message(fan, "actually 3 tickets"))
    [text] = polling.api.wait_texts(fan, 1)
    assert text.startswith("I answer each message once")
    assert sent_to_rasa(polling, fan) == []


def test_a_5000_character_reply_is_split_on_paragraphs(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(text_message(fan, "give me the long answer"))
    polling.api.wait_for(
        lambda: len(polling.api.calls_to(fan, "sendMessage")) >= 2, what="two pieces"
    )
    pieces = [c.text for c in polling.api.calls_to(fan, "sendMessage")]
    assert len(pieces) == 2
    assert all(len(p) <= 4096 for p in pieces)
    assert "\n\n".join(pieces) == long_text(), "cut at a paragraph break, nothing lost"
    assert pieces[1].startswith("5. "), "four whole paragraphs fit in the first message"


def test_a_failing_assistant_gets_an_apology_and_the_bot_keeps_serving(
    polling: TelegramDesk,
) -> None:
    fan = new_fan()
    polling.api.push(text_message(fan, "boom"))
    [text] = polling.api.wait_texts(fan, 1)
    assert text == "Sorry, I can't answer right now. Please try again in a minute."
    polling.api.push(text_message(fan, "hello again"))
    assert polling.api.wait_texts(fan, 2)[1] == "(en) bot answer: hello again"


def test_help(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(text_message(fan, "/help", language_code="zh-TW"))
    [text] = polling.api.wait_texts(fan, 1)
    assert text.startswith("我是测试竞技票务助手")
    assert sent_to_rasa(polling, fan) == []


@pytest.mark.filterwarnings("ignore:Detected unknown update type:RuntimeWarning")  # aiogram's log
def test_unknown_update_types_and_senderless_messages_are_skipped(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push({"future_update_kind": {"id": 1, "whatever": True}})
    senderless = text_message(fan, "posted by an anonymous admin")
    del senderless["message"]["from"]
    polling.api.push(senderless)
    polling.api.push(text_message(fan, "and a normal message"))
    assert polling.api.wait_texts(fan, 1) == ["(en) bot answer: and a normal message"]
    assert [r["message"] for r in sent_to_rasa(polling, fan)] == ["and a normal message"]


def test_each_polled_update_gets_a_correlation_id_of_its_own(polling: TelegramDesk) -> None:
    fan = new_fan()
    polling.api.push(text_message(fan, "first"))
    polling.api.wait_texts(fan, 1)
    polling.api.push(text_message(fan, "second"))
    polling.api.wait_texts(fan, 2)
    sent = sent_to_rasa(polling, fan)
    ids = [body["metadata"]["correlation_id"] for body in sent]  # type: ignore[index]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert all(correlation.sane(found) == found for found in ids), ids
