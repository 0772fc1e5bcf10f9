"""`/start`, with deep links: `t.me/<bot>?start=fixture_<id>` opens buying for that match."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel

_FIXTURE = re.compile(r"^fixture_(\d{1,9})$")
GREETING = "/greet"


def start_text(argument: str | None) -> str:
    """What the assistant is told for `/start <argument>`: buy tickets for a fixture
    deep link, otherwise a greeting."""
    match = _FIXTURE.match((argument or "").strip())
    if match is None:
        return GREETING
    return "/buy_tickets" + json.dumps({"fixture": match.group(1)}, separators=(",", ":"))


async def on_start(message: Message, command: CommandObject, channel: TelegramChannel) -> None:
    if message.from_user is None:
        return
    await channel.handle_text(
        message.chat.id,
        message.from_user,
        start_text(command.args),
        f"tg-{message.chat.id}-{message.message_id}",
        composed=True,  # the desk's own deep link, not the fan's text
    )


def router() -> Router:
    """A fresh `start` router (a router can be attached to one dispatcher only)."""
    built = Router(name="start")
    built.message.register(on_start, CommandStart())
    return built
