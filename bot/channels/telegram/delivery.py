"""Sending to Telegram chats in order, politely and without losing anything.

Everything the desk sends a chat (replies, agent messages, notices) goes through
`ChatDelivery.send`, one chat at a time in the order asked (a FIFO lock per chat):
- 429 (flood control): wait the `retry_after` Telegram gives and send the same
  message again, so nothing is lost or reordered (later messages wait behind it);
- 403 (the fan blocked the bot): recorded in `telegram_chats`; nothing more is
  sent to that chat (no retries) until the fan writes again;
- network and 5xx errors: a few retries with backoff; other refusals are logged.

The last guard of group chats (groups.py): whoever asks, nothing with a photo (a QR
code) or a text with a ticket link or order reference is sent to a group chat.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from anyio import to_thread

from bot.channels.telegram.chats import ChatStore
from bot.channels.telegram.chunks import CAPTION_LIMIT, split_text
from bot.channels.telegram.groups import is_group_chat

log = logging.getLogger("matchday.telegram")

MAX_FLOOD_WAITS = 10  # 429s in a row for one message before giving up on it
MAX_RETRY_AFTER_S = 300  # a longer wait is not worth holding the chat's queue
TRANSIENT_ATTEMPTS = 3
TYPING_EVERY_S = 4.5  # Telegram shows "typing" for 5 s


class Blocked(Exception):
    """The fan blocked the bot (or deleted the chat): nothing can be sent."""


class DeliveryFailed(Exception):
    """Telegram refused a message for another reason (the message names it)."""


@dataclass(frozen=True)
class Outgoing:
    """One message to a chat: text (split if long), an optional photo, optional buttons."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    photo: bytes | None = None
    photo_name: str = "ticket.png"


class ChatDelivery:
    """Ordered, flood-aware sending to chats."""

    def __init__(
        self,
        bot: Bot,
        chats: ChatStore,
        *,
        private_text: Callable[[str], bool],
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """`private_text`: whether a text holds a fan's own ticket or order details
        (`GroupRules.private_text`), never sent to a group."""
        self.bot = bot
        self._chats = chats
        self._private_text = private_text
        self._sleep = sleep
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.flood_waits = 0  # how many 429s were honoured (reported in tests and logs)

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    async def send(self, chat_id: int, items: list[Outgoing]) -> int:
        """Send `items` to the chat in order; returns how many Bot API messages went out.

        Raises `Blocked` (nothing more was sent) or `DeliveryFailed` (after trying
        every item; the others were sent).
        """
        lock = self._lock(chat_id)  # taken before any await: callers keep their order
        async with lock:
            if await to_thread.run_sync(self._chats.is_blocked, chat_id):
                raise Blocked(f"chat {chat_id} blocked the bot")
            if is_group_chat(chat_id):
                items = await to_thread.run_sync(self._for_group, chat_id, items)
            sent = 0
            failures: list[str] = []
            for item in items:
                for call in self._calls(chat_id, item):
                    try:
                        await self._with_retries(chat_id, call)
                        sent += 1
                    except TelegramForbiddenError as exc:
                        log.warning("chat %s blocked the bot: %s", chat_id, exc.message)
                        await to_thread.run_sync(self._chats.mark_blocked, chat_id)
                        raise Blocked(f"chat {chat_id} blocked the bot") from exc
                    except TelegramAPIError as exc:
                        log.error("Telegram refused a message to chat %s: %s", chat_id, exc)
                        failures.append(str(exc))
            if failures:
                raise DeliveryFailed("; ".join(failures))
            return sent

    def _for_group(self, chat_id: int, items: list[Outgoing]) -> list[Outgoing]:
        """The items that may be posted in a group: no QR photo, no ticket or order details.

        The channel screens a group's replies before this; anything caught here is a
        bug upstream, so it is logged as an error."""
        kept = [i for i in items if i.photo is None and not self._private_text(i.text)]
        if len(kept) < len(items):
            log.error(
                "withheld %d message(s) with ticket or order details from group chat %s",
                len(items) - len(kept),
                chat_id,
            )
        return kept

    def _calls(self, chat_id: int, item: Outgoing) -> list[Callable[[], Awaitable[Any]]]:
        bot = self.bot
        calls: list[Callable[[], Awaitable[Any]]] = []
        text = item.text.strip()
        if item.photo is not None:
            photo = BufferedInputFile(item.photo, filename=item.photo_name)
            caption = text if len(text) <= CAPTION_LIMIT else None
            keyboard = item.keyboard if caption is not None or not text else None
            calls.append(
                lambda: bot.send_photo(
                    chat_id, photo, caption=caption or None, reply_markup=keyboard
                )
            )
            if caption is not None:
                return calls
        pieces = split_text(text) if text else []
        if not pieces and item.keyboard is not None and item.photo is None:
            pieces = ["…"]  # buttons need a message to sit on
        for index, piece in enumerate(pieces):
            markup = item.keyboard if index == len(pieces) - 1 else None
            calls.append(partial(bot.send_message, chat_id, piece, reply_markup=markup))
        return calls

    async def _with_retries(self, chat_id: int, call: Callable[[], Awaitable[Any]]) -> None:
        floods = transient = 0
        while True:
            try:
                await call()
                return
            except TelegramRetryAfter as exc:
                floods += 1
                if floods > MAX_FLOOD_WAITS or exc.retry_after > MAX_RETRY_AFTER_S:
                    raise
                self.flood_waits += 1
                log.warning(
                    "flood control on chat %s: waiting %s s (attempt %s)",
                    chat_id,
                    exc.retry_after,
                    floods,
                )
                await self._sleep(exc.retry_after)
            except (TelegramNetworkError, TelegramServerError) as exc:
                transient += 1
                if transient >= TRANSIENT_ATTEMPTS:
                    raise
                log.warning("Telegram unreachable for chat %s (%s); retrying", chat_id, exc)
                await self._sleep(0.5 * 2**transient)

    @asynccontextmanager
    async def typing(self, chat_id: int) -> AsyncIterator[None]:
        """Show "typing…" in the chat while the block runs (errors are ignored)."""

        async def keep_typing() -> None:
            while True:
                with suppress(TelegramAPIError):
                    await self.bot.send_chat_action(chat_id, "typing")
                await asyncio.sleep(TYPING_EVERY_S)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
