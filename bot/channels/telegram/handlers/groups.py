"""Group chats: the group's talk that is not for the bot is left alone.

In a group or supergroup the bot answers a command, a mention of it or a reply to one
of its messages (groups.addressed); this router takes every other group message first
and does nothing with it. Private chats never match.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Filter
from aiogram.types import Message

from bot.channels.telegram.groups import addressed, is_group


class NotForTheBot(Filter):
    """A group message that is not addressed to the bot."""

    async def __call__(self, message: Message, bot: Bot) -> bool:
        if not is_group(message.chat.type):
            return False
        return not addressed(message, await bot.me())


async def on_group_talk(message: Message) -> None:
    """Not for the bot: no reply, nothing sent to the assistant."""


def router() -> Router:
    """A fresh `groups` router (a router can be attached to one dispatcher only)."""
    built = Router(name="groups")
    built.message.register(on_group_talk, NotForTheBot())
    built.edited_message.register(on_group_talk, NotForTheBot())
    return built
