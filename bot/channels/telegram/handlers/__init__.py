"""The bot's routers, one per feature, wired in one place.

Order matters: group talk not addressed to the bot is set aside first, commands
before plain text (a command is text too), and the catch-all for unsupported
messages last.

Each update is handled under a correlation id (core/correlation.py): in webhook mode
the id of the webhook request that brought it, in polling mode a new one, so every log
line about a fan's Telegram message, and the desk's call to Rasa for it, carry it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Dispatcher

from bot.channels.telegram.handlers import (
    callbacks,
    commands,
    edited,
    errors,
    groups,
    media,
    start,
    text,
)
from core import correlation

Handler = Callable[[Any, dict[str, Any]], Awaitable[Any]]


async def with_correlation_id(handler: Handler, update: Any, data: dict[str, Any]) -> Any:
    """Handle `update` under the current correlation id, or a new one."""
    with correlation.bind(correlation.current()):
        return await handler(update, data)


def build_dispatcher() -> Dispatcher:
    """A dispatcher with every router of the channel."""
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(with_correlation_id)
    dispatcher.include_routers(
        errors.router(),
        groups.router(),
        start.router(),
        commands.router(),
        callbacks.router(),
        text.router(),
        edited.router(),
        media.router(),
    )
    return dispatcher
