"""Stickers, photos, voice, documents and anything else without text: a polite,
text-only reply (the assistant reads text only)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.types import Message

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel

log = logging.getLogger("matchday.telegram")


async def on_unsupported(message: Message, channel: TelegramChannel) -> None:
    log.info("unsupported %s message in chat %s", message.content_type, message.chat.id)
    language = await channel.language_for(message.chat.id, message.from_user, message.chat.type)
    await channel.say(message.chat.id, "telegram.unsupported", language)


def router() -> Router:
    """A fresh `media` router (a router can be attached to one dispatcher only)."""
    built = Router(name="media")
    built.message.register(on_unsupported)
    return built
