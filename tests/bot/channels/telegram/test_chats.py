"""Which conversations are Telegram chats."""

from __future__ import annotations

from bot.channels.telegram.chats import chat_of


def test_only_ascii_digits_name_a_telegram_chat() -> None:
    assert chat_of("tg-42") == 42 and chat_of("tg--1001") == -1001
    for conversation in ("tg-\u00b2", "tg---5", "tg-\u0664\u0662", "tg-", "web-1"):
        assert chat_of(conversation) is None


def test_a_group_member_s_conversation_names_the_group() -> None:
    assert chat_of("tg--1001-u42") == -1001
    for conversation in ("tg--1001-u-42", "tg--1001-u", "tg--u42", "tg--1001-u\u00b2"):
        assert chat_of(conversation) is None
