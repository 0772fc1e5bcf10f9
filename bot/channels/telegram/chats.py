"""What the desk remembers per Telegram chat: the language a fan chose with
/language, and whether they blocked the bot (then nothing is sent until they write again)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram.models import TelegramChat
from core.clock import utcnow
from core.db import read_session, write_session
from knowledge.language import Language


def conversation_id(chat_id: int, member: int | None = None) -> str:
    """The desk's conversation for a Telegram chat: `tg-<chat id>`, or in a group one per
    member, `tg-<group id>-u<user id>` (one member's turn never lands in another's form)."""
    return f"tg-{chat_id}" if member is None else f"tg-{chat_id}-u{member}"


def _integer(text: str) -> int | None:
    digits = text.removeprefix("-")
    # ASCII digits: "²".isdigit() holds but int("²") fails.
    return int(text) if digits.isascii() and digits.isdigit() else None


def chat_of(conversation: str) -> int | None:
    """The chat behind a `tg-<chat id>` or `tg-<group id>-u<user id>` conversation, None
    for other channels."""
    if not conversation.startswith("tg-"):
        return None
    chat, separator, member = conversation[3:].rpartition("-u")
    if separator and _integer(member) is not None and not member.startswith("-"):
        return _integer(chat)
    return _integer(conversation[3:])


def language_of(code: str | None) -> Language | None:
    """Telegram's `language_code` (IETF tag) as a desk language: zh* is Chinese, else English."""
    if not code:
        return None
    return "zh" if code.lower().startswith("zh") else "en"


class ChatStore:
    """Reads and writes `telegram_chats`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def chosen_language(self, chat_id: int) -> Language | None:
        with read_session(self._sessions) as session:
            chat = session.get(TelegramChat, chat_id)
            return chat.language if chat and chat.language in ("en", "zh") else None  # type: ignore[return-value]

    def choose_language(self, chat_id: int, user_id: int | None, language: Language) -> None:
        with write_session(self._sessions) as session:
            chat = self._row(session, chat_id, user_id)
            chat.language = language

    def seen(self, chat_id: int, user_id: int | None) -> None:
        """The fan wrote: they have not blocked us (any more)."""
        with write_session(self._sessions) as session:
            chat = self._row(session, chat_id, user_id)
            chat.blocked_at = None

    def mark_blocked(self, chat_id: int) -> None:
        with write_session(self._sessions) as session:
            chat = self._row(session, chat_id, None)
            if chat.blocked_at is None:
                chat.blocked_at = utcnow()

    def is_blocked(self, chat_id: int) -> bool:
        with read_session(self._sessions) as session:
            chat = session.get(TelegramChat, chat_id)
            return chat is not None and chat.blocked_at is not None

    @staticmethod
    def _row(session: Session, chat_id: int, user_id: int | None) -> TelegramChat:
        chat = session.get(TelegramChat, chat_id)
        if chat is None:
            chat = TelegramChat(chat_id=chat_id, user_id=user_id)
            session.add(chat)
        else:
            if user_id is not None:
                chat.user_id = user_id
            chat.updated_at = utcnow()
        return chat
