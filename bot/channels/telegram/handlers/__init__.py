"""The bot's routers, one per feature, wired in one place.

Order matters: group talk not addressed to the bot is set aside first, commands
before plain text (a command is text too), and the catch-all for unsupported
messages last.
"""

from __future__ import annotations

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


def build_dispatcher() -> Dispatcher:
    """A dispatcher with every router of the channel."""
    dispatcher = Dispatcher()
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
