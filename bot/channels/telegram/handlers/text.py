"""A fan's text message: to the conversation service, replies back to the chat (in a
group, without the mention of the bot that addressed it)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.types import Message

from bot.channels.telegram.groups import is_group, without_mention

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel

log = logging.getLogger("matchday.telegram")
MAX_TEXT = 4096  # Telegram's own limit; anything longer is not from Telegram


async def on_text(message: Message, channel: TelegramChannel) -> None:
    if message.from_user is None:  # channel posts and anonymous admins: no fan to answer
        log.info("ignored a message without a sender in chat %s", message.chat.id)
        return
    text = (message.text or "")[:MAX_TEXT]
    chat_type = message.chat.type
    if is_group(chat_type):
        text = without_mention(text, (await channel.bot.me()).username)
        if not text:  # just "@bot": what the bot does here
            language = await channel.language_for(message.chat.id, message.from_user, chat_type)
            await channel.say(message.chat.id, "telegram.group.help", language)
            return
    await channel.handle_text(
        message.chat.id,
        message.from_user,
        text,
        f"tg-{message.chat.id}-{message.message_id}",
        chat_type=chat_type,
    )


def router() -> Router:
    """A fresh `text` router (a router can be attached to one dispatcher only)."""
    built = Router(name="text")
    built.message.register(on_text, F.text)
    return built
