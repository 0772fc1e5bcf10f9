"""The assistant's buttons as inline keyboards.

Telegram limits `callback_data` to 64 bytes. A payload that fits travels inline
(`p:<payload>`); a longer one (e.g. `/faq_other{"faq_id":"..."}`) is stored in
`telegram_callbacks` under a short random token (`t:<token>`) and resolved when
pressed. Tokens older than `TOKEN_TTL` are expired; unknown data resolves to None.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram.models import CallbackToken
from bot.conversations.service import Button
from core.clock import utcnow
from core.db import read_session, write_session

CALLBACK_LIMIT = 64
TOKEN_TTL = timedelta(days=30)
LANGUAGE_PREFIX = "lang:"
BUTTON_TITLE_LIMIT = 64  # long titles are unreadable on a phone anyway
PER_ROW = 2


class CallbackStore:
    """Maps button payloads to `callback_data` and back."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def data_for(self, payload: str) -> str:
        """The `callback_data` for a button payload (at most 64 bytes)."""
        inline = f"p:{payload}"
        if len(inline.encode()) <= CALLBACK_LIMIT:
            return inline
        token = secrets.token_urlsafe(12)
        with write_session(self._sessions) as session:
            session.add(CallbackToken(token=token, payload=payload))
        return f"t:{token}"

    def payload_of(self, data: str | None) -> str | None:
        """The payload behind `callback_data`, None if unknown or expired."""
        if not data:
            return None
        if data.startswith("p:") and len(data) > 2:
            return data[2:]
        if data.startswith("t:"):
            with read_session(self._sessions) as session:
                row = session.get(CallbackToken, data[2:])
                if row is None or row.created_at < utcnow() - TOKEN_TTL:
                    return None
                return row.payload
        return None

    def prune(self) -> int:
        """Delete expired tokens; returns how many."""
        with write_session(self._sessions) as session:
            result = session.execute(
                delete(CallbackToken).where(CallbackToken.created_at < utcnow() - TOKEN_TTL)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def keyboard(
        self, buttons: list[Button], links: Callable[[str], str | None] | None = None
    ) -> InlineKeyboardMarkup | None:
        """An inline keyboard with PER_ROW buttons a row (None without buttons).

        `links`: the URL a button opens instead of sending its payload (a group's link
        to the private chat), None to send the payload."""
        if not buttons:
            return None
        cells = [self._cell(b, links(b.payload) if links else None) for b in buttons]
        rows = [cells[i : i + PER_ROW] for i in range(0, len(cells), PER_ROW)]
        return InlineKeyboardMarkup(inline_keyboard=rows)

    def _cell(self, button: Button, url: str | None) -> InlineKeyboardButton:
        title = (button.title or button.payload)[:BUTTON_TITLE_LIMIT]
        if url is not None:
            return InlineKeyboardButton(text=title, url=url)
        return InlineKeyboardButton(text=title, callback_data=self.data_for(button.payload))


def language_keyboard() -> InlineKeyboardMarkup:
    """English / 中文, for /language."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="English", callback_data=f"{LANGUAGE_PREFIX}en"),
                InlineKeyboardButton(text="中文", callback_data=f"{LANGUAGE_PREFIX}zh"),
            ]
        ]
    )
