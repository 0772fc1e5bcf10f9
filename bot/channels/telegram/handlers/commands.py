"""`/help`, `/human` and `/language` (with its English / 中文 buttons)."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from anyio import to_thread

from bot.channels.telegram.delivery import Outgoing
from bot.channels.telegram.keyboards import LANGUAGE_PREFIX, language_keyboard
from knowledge.language import Language

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel

HUMAN = "/human"  # the handoff desk's command (data/handoff/routing.yml)


async def on_help(message: Message, channel: TelegramChannel) -> None:
    language = await channel.language_for(message.chat.id, message.from_user)
    await channel.say(message.chat.id, "telegram.help", language)


async def on_human(message: Message, channel: TelegramChannel) -> None:
    if message.from_user is None:
        return
    await channel.handle_text(
        message.chat.id,
        message.from_user,
        HUMAN,
        f"tg-{message.chat.id}-{message.message_id}",
        composed=True,
    )


async def on_language(message: Message, channel: TelegramChannel) -> None:
    language = await channel.language_for(message.chat.id, message.from_user)
    await channel.deliver(
        message.chat.id,
        [Outgoing(channel.text("telegram.language_prompt", language), language_keyboard())],
    )


async def on_language_chosen(query: CallbackQuery, channel: TelegramChannel) -> None:
    data = (query.data or "")[len(LANGUAGE_PREFIX) :]
    chosen: Language | None = "zh" if data == "zh" else "en" if data == "en" else None
    if chosen is None or query.message is None:
        with suppress(TelegramAPIError):
            await query.answer()
        return
    chat_id = query.message.chat.id
    await to_thread.run_sync(channel.chats.choose_language, chat_id, query.from_user.id, chosen)
    with suppress(TelegramAPIError):
        await query.answer()
    await channel.say(chat_id, "telegram.language_set", chosen)


def router() -> Router:
    """A fresh `commands` router (a router can be attached to one dispatcher only)."""
    built = Router(name="commands")
    built.message.register(on_help, Command("help"))
    built.message.register(on_human, Command("human"))
    built.message.register(on_language, Command("language"))
    built.callback_query.register(on_language_chosen, F.data.startswith(LANGUAGE_PREFIX))
    return built
