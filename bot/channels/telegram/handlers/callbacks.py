"""Button presses: the payload goes to the assistant as if the fan had typed it.

The callback query is always answered (Telegram shows a spinner until then);
unknown or expired data gets a logged, polite refusal.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery
from anyio import to_thread

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel

log = logging.getLogger("matchday.telegram")


async def on_button(query: CallbackQuery, channel: TelegramChannel) -> None:
    payload = await to_thread.run_sync(channel.callbacks.payload_of, query.data)
    chat = query.message.chat.id if query.message is not None else query.from_user.id
    chat_type = query.message.chat.type if query.message is not None else "private"
    language = await channel.language_for(chat, query.from_user, chat_type)
    if payload is None:
        log.warning(
            "unknown or expired callback data %r from user %s", query.data, query.from_user.id
        )
        with suppress(TelegramAPIError):
            await query.answer(channel.text("telegram.expired_button", language), show_alert=False)
        await channel.say(chat, "telegram.expired_button", language)
        return
    with suppress(TelegramAPIError):
        await query.answer()
    if query.message is not None:  # a keyboard is pressed once: take it away
        with suppress(TelegramAPIError):
            await channel.bot.edit_message_reply_markup(
                chat_id=chat, message_id=query.message.message_id, reply_markup=None
            )
    # In a group, the member who tapped: their own conversation (and no personal flow).
    await channel.handle_text(
        chat, query.from_user, payload, f"tg-cb-{query.id}", chat_type=chat_type, pressed=True
    )


def router() -> Router:
    """A fresh `callbacks` router (a router can be attached to one dispatcher only)."""
    built = Router(name="callbacks")
    built.callback_query.register(on_button)
    return built
