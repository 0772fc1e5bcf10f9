"""Tables of the Telegram channel: what the desk remembers about each chat, and the
long button payloads that do not fit in Telegram's 64-byte `callback_data`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base


class TelegramChat(Base):
    """One Telegram chat: the fan's language choice and whether they blocked the bot."""

    __tablename__ = "telegram_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(8))  # chosen with /language
    blocked_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallbackToken(Base):
    """A button payload too long for `callback_data`, stored under a short token."""

    __tablename__ = "telegram_callbacks"

    token: Mapped[str] = mapped_column(String(24), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
