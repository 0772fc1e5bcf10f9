"""`/help`, `/human` and `/language` (with its English / 中文 buttons).

In a group: /help says what the bot does there, /human points to the private chat
(a person will ask about the fan's orders), and a language chosen there is the
member's own (stored for their private chat, whose id is theirs)."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from anyio import to_thread

from bot.channels.telegram.delivery import Outgoing
from bot.channels.telegram.groups import is_group
from bot.channels.telegram.keyboards import LANGUAGE_PREFIX, language_keyboard
from knowledge.language import Language

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel

HUMAN = "/human"  # the handoff desk's command (data/handoff/routing.yml)


async def on_help(message: Message, channel: TelegramChannel) -> None:
    chat_type = message.chat.type
    language = await channel.language_for(message.chat.id, message.from_user, chat_type)
    key = "telegram.group.help" if is_group(chat_type) else "telegram.help"
    await channel.say(message.chat.id, key, language)


async def on_human(message: Message, channel: TelegramChannel) -> None:
    if message.from_user is None:
        return
    if is_group(message.chat.type):
        language = await channel.language_for(message.chat.id, message.from_user, message.chat.type)
        await channel.point_to_private(
            message.chat.id, message.from_user, language, "talk_to_human"
        )
        return
    await channel.handle_text(
        message.chat.id,
        message.from_user,
        HUMAN,
        f"tg-{message.chat.id}-{message.message_id}",
        composed=True,
    )


async def on_language(message: Message, channel: TelegramChannel) -> None:
    language = await channel.language_for(message.chat.id, message.from_user, message.chat.type)
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
    # In a group, the member who tapped chooses for themselves (their private chat's row).
    choosing = query.from_user.id if is_group(query.message.chat.type) else chat_id
    await to_thread.run_sync(channel.chats.choose_language, choosing, query.from_user.id, chosen)
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
