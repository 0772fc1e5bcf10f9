"""`/start`, with deep links: `t.me/<bot>?start=fixture_<id>` opens buying for that match;
`?start=<topic>` (from a group's "continue in a private chat" button: `order_status`,
`refund`, ...) opens the private chat on that topic. In a group, /start with a topic
points to the private chat; without one, says what the bot does there."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from bot.channels.telegram.groups import is_group, start_argument
from bot.channels.telegram.handlers.commands import HUMAN

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel

_FIXTURE = re.compile(r"^fixture_(\d{1,9})$")
GREETING = "/greet"
# Topics a group hands over (groups.PRIVATE_INTENTS): what the private chat opens with.
_TOPICS = {
    "buy_tickets": "/buy_tickets",
    "order_status": "/order_status",
    "refund": "/refund",
    "exchange_transfer": "/exchange_transfer",
    "lost_ticket": "/lost_ticket",
    "talk_to_human": HUMAN,
}


def start_text(argument: str | None) -> str:
    """What the assistant is told for `/start <argument>`: buy tickets for a fixture
    deep link, the topic a group handed over, otherwise a greeting."""
    given = (argument or "").strip()
    if given in _TOPICS:
        return _TOPICS[given]
    match = _FIXTURE.match(given)
    if match is None:
        return GREETING
    return "/buy_tickets" + json.dumps({"fixture": match.group(1)}, separators=(",", ":"))


async def on_start(message: Message, command: CommandObject, channel: TelegramChannel) -> None:
    if message.from_user is None:
        return
    if is_group(message.chat.type):
        await _start_in_group(message, command, channel)
        return
    await channel.handle_text(
        message.chat.id,
        message.from_user,
        start_text(command.args),
        f"tg-{message.chat.id}-{message.message_id}",
        composed=True,  # the desk's own deep link, not the fan's text
    )


async def _start_in_group(
    message: Message, command: CommandObject, channel: TelegramChannel
) -> None:
    assert message.from_user is not None
    language = await channel.language_for(message.chat.id, message.from_user, message.chat.type)
    argument = (command.args or "").strip()
    if not argument:  # the bot was just added, or someone is curious
        await channel.say(message.chat.id, "telegram.group.help", language)
        return
    topic = argument if _FIXTURE.match(argument) else start_argument(argument)
    await channel.point_to_private(message.chat.id, message.from_user, language, topic)


def router() -> Router:
    """A fresh `start` router (a router can be attached to one dispatcher only)."""
    built = Router(name="start")
    built.message.register(on_start, CommandStart())
    return built
