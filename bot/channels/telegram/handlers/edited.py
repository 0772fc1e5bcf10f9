"""Edited messages: each message is answered once (the answer may already have
started a purchase), so an edit is not re-run; the fan is asked to send it again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.types import Message

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel


async def on_edited(message: Message, channel: TelegramChannel) -> None:
    language = await channel.language_for(message.chat.id, message.from_user, message.chat.type)
    await channel.say(message.chat.id, "telegram.edited", language)


def router() -> Router:
    """A fresh `edited` router (a router can be attached to one dispatcher only)."""
    built = Router(name="edited")
    built.edited_message.register(on_edited)
    return built
