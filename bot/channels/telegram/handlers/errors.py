"""A handler that fails is logged with the update, the fan gets an apology, and the
bot goes on serving."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.types import ErrorEvent

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel

log = logging.getLogger("matchday.telegram")


async def on_error(event: ErrorEvent, channel: TelegramChannel) -> bool:
    update = event.update
    log.error(
        "update %s failed: %s",
        update.update_id,
        event.exception,
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
    )
    message = update.message or update.edited_message
    chat_id = message.chat.id if message is not None else None
    if chat_id is None and update.callback_query is not None:
        chat_id = update.callback_query.from_user.id
    if chat_id is not None:
        await channel.say(chat_id, "telegram.broken", None)
    return True


def router() -> Router:
    """A fresh `errors` router (a router can be attached to one dispatcher only)."""
    built = Router(name="errors")
    built.errors.register(on_error)
    return built
