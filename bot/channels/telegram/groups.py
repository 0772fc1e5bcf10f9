"""Telegram group chats: what the bot answers there, and what it never posts there.

In a group (or supergroup) every member reads every message, so the desk answers
general questions there (fixtures, prices, entry rules, the FAQ) and takes anything
about a fan's own tickets to a private chat:

- **Addressed only**: a command, a mention of the bot, or a reply to one of its
  messages (handlers/groups.py ignores the rest of the group's talk).
- **One conversation per member**: `tg-<group>-u<user>` (chats.conversation_id), the
  customer `tg:<user>` as in a private chat; Rasa's metadata says `chat_type: group`.
- **The line, before the dialogue** (`GroupRules.decide`): in a group the
  channel composes what the assistant is sent, so the check reads exactly that text.
  A tapped button's payload is sent as an intent only for a general intent; anything
  else is plain text, read by the assistant's own NLU (`/model/parse`) first.
  A personal intent (`PRIVATE_INTENTS`) never reaches the dialogue: the fan gets
  `telegram.group.private_only` with a button to the private chat
  (`t.me/<bot>?start=<topic>`), where /start picks the topic up (handlers/start.py).
  So no purchase, refund, exchange, transfer or verification form starts, or
  continues, in a group.
- **Replies, screened after the turn** (`GroupRules.screen`): a reply with an image
  (a QR code), a signed ticket link or one of the club's order references is withheld
  and the pointer sent instead; a button that would start a personal flow becomes a
  link to the private chat (`GroupRules.link_for`).
- **Last guard, in `ChatDelivery`**: no photo and no text with a ticket link or order
  reference is sent to a group chat id, whoever asks (delivery.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, User
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.service import Reply
from knowledge.script import to_simplified
from knowledge.topics import TOPICS
from ticketing.errors import ClubNotLoaded
from ticketing.ids import REF_ALPHABET
from ticketing.orders import order_prefix

GROUP_TYPES: Final = frozenset({"group", "supergroup"})

# Intents whose answer is about the fan's own tickets, orders or account: buying,
# orders, refunds, exchanges and transfers, a lost ticket, and a person (an agent
# asks for order details). Verification is offered only inside these flows. A bare
# `inform` ("2 in cat 1 for the derby") outside a form starts buying
# (action_bare_answer), so it is private too.
PRIVATE_INTENTS: Final = frozenset(
    {
        "buy_tickets",
        "order_status",
        "refund",
        "exchange_transfer",
        "lost_ticket",
        "talk_to_human",
        "inform",
    }
)
# What a tapped button may send from a group as an intent: the desk's topics
# (knowledge/topics.py) but the private ones. The answers to a form's question
# (affirm, deny, stop, inform) are no topics: such a payload is read as plain text.
GENERAL_INTENTS: Final = frozenset(TOPICS) - PRIVATE_INTENTS

# `t.me/<bot>?start=<argument>`: Telegram allows 1-64 of these characters.
_START_ARGUMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PAYLOAD = re.compile(r"^/(\w{1,64})(\{.*\})?$", re.DOTALL)
_TICKET_LINK = re.compile(r"/media/tickets/\d")
# An order reference as the desk writes it: the club's prefix, a dash, six characters.
_ORDER_REF = "(?<![A-Za-z0-9]){prefix}-[" + REF_ALPHABET + "]{{6}}(?![A-Za-z0-9])"
DEFAULT_TOPIC = "private"


def is_group(chat_type: str | None) -> bool:
    """A group or supergroup (aiogram's `message.chat.type`)."""
    return chat_type in GROUP_TYPES


def is_group_chat(chat_id: int) -> bool:
    """A chat id of a group, supergroup or channel: Telegram gives those negative ids
    and users (whose private chat has their own id) positive ones."""
    return chat_id < 0


@dataclass(frozen=True)
class Payload:
    """A button payload (`/intent{"entity": "value"}`), as the desk's buttons carry."""

    intent: str
    entities: dict[str, Any]


def payload_of(text: str) -> Payload | None:
    """The intent and entities of a `/intent{...}` text, None for anything else."""
    match = _PAYLOAD.match(text.strip())
    if match is None:
        return None
    entities: Any = {}
    if match.group(2):
        try:
            entities = json.loads(match.group(2))
        except ValueError:
            return None
    if not isinstance(entities, dict):
        return None
    return Payload(match.group(1), entities)


def start_argument(intent: str, entities: dict[str, Any] | None = None) -> str:
    """The deep link's start argument for a personal topic: `fixture_<id>` for buying a
    given match (the existing deep link), else the intent's name (a bare answer such as
    "2 in cat 1" is buying)."""
    fixture = str((entities or {}).get("fixture") or "")
    if intent in ("buy_tickets", "inform") and fixture.isascii() and fixture.isdigit():
        return f"fixture_{int(fixture)}"
    if intent == "inform":
        return "buy_tickets"
    return intent if intent in PRIVATE_INTENTS else DEFAULT_TOPIC


def private_link(username: str | None, argument: str) -> str | None:
    """`https://t.me/<bot>?start=<argument>`, None for a bot without a username."""
    if not username:
        return None
    argument = argument if _START_ARGUMENT.match(argument) else DEFAULT_TOPIC
    return f"https://t.me/{username}?start={argument}"


def private_keyboard(title: str, link: str | None) -> InlineKeyboardMarkup | None:
    """One URL button opening the private chat."""
    if link is None:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=title, url=link)]])


# --- which group messages are for the bot -------------------------------------------------


def addressed(message: Message, me: User) -> bool:
    """A group message for the bot: a reply to it, a mention of it, or a command (one
    naming another bot, `/help@other_bot`, is not)."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return True
    text = message.text or message.caption or ""
    username = (me.username or "").casefold()
    for entity in message.entities or message.caption_entities or []:
        if entity.type == "text_mention" and entity.user is not None:
            if entity.user.id == me.id:
                return True
            continue
        if entity.type not in ("mention", "bot_command"):
            continue
        word = entity.extract_from(text)
        if entity.type == "mention" and username and word.casefold() == f"@{username}":
            return True
        if entity.type == "bot_command" and entity.offset == 0:
            _, at, mention = word.partition("@")
            if not at or (username and mention.casefold() == username):
                return True
    return False


def without_mention(text: str, username: str | None) -> str:
    """The text without the bot's @username ("@bot when do gates open?")."""
    if not username:
        return text.strip()
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


# --- the line -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What a group message becomes: the text to send the assistant (as composed by
    the channel), or the topic to take to the private chat."""

    text: str | None = None
    private: str | None = None  # the deep link's start argument


class GroupRules:
    """Decides what the desk does with a group message and what it may post there."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        intent_of: Callable[[str], Awaitable[dict[str, Any]]],
    ) -> None:
        """`intent_of`: the assistant's NLU (`RasaClient.parse`); it may raise
        `RasaUnavailable`."""
        self._sessions = sessions
        self._intent_of = intent_of
        self._order_ref: re.Pattern[str] | None = None

    async def decide(self, text: str, pressed: bool = False) -> Decision:
        """What to do with a fan's group message: a typed text, or (`pressed`) the
        payload of a button they tapped."""
        wanted = to_simplified(text).strip()
        if wanted.startswith("/"):
            payload = payload_of(wanted)
            if payload is not None and payload.intent in PRIVATE_INTENTS:
                return Decision(private=start_argument(payload.intent, payload.entities))
            if pressed and payload is not None and payload.intent in GENERAL_INTENTS:
                return Decision(text=wanted)  # a general button (an FAQ entry, fixtures)
            # Typed intent syntax, or a payload the group may not send: plain text, as
            # the desk treats such text.
            wanted = wanted.lstrip("/").strip() or "?"
        parsed = await self._intent_of(wanted)
        intent = str((parsed.get("intent") or {}).get("name") or "")
        if intent in PRIVATE_INTENTS:
            return Decision(private=start_argument(intent))
        return Decision(text=wanted)

    def link_for(self, payload: str) -> str | None:
        """The start argument for a button whose payload starts a personal flow (shown
        in a group as a link to the private chat), None for a general button or a payload
        that is no intent."""
        found = payload_of(to_simplified(payload))
        if found is None or found.intent in GENERAL_INTENTS:
            return None  # a pressed button is decided like typed text (`decide`)
        # A personal flow, or a step of one (a form's yes/no or choice).
        return start_argument(found.intent, found.entities)

    # --- what is never posted in a group ----------------------------------------------------

    def private_text(self, text: str) -> bool:
        """Whether `text` holds a signed ticket link or one of the club's order references."""
        if _TICKET_LINK.search(text):
            return True
        return bool(self._order_refs().search(text))

    def _order_refs(self) -> re.Pattern[str]:
        if self._order_ref is None:
            try:
                prefix = re.escape(order_prefix(self._sessions))
            except ClubNotLoaded:  # no club yet: any prefix the club data allows
                return re.compile(_ORDER_REF.format(prefix="[A-Z]{2,4}"))
            self._order_ref = re.compile(_ORDER_REF.format(prefix=prefix))
        return self._order_ref

    def screen(self, replies: list[Reply]) -> tuple[list[Reply], bool]:
        """The replies that may be posted in a group, and whether any was withheld (a QR
        image, a ticket link, an order reference)."""
        kept = [r for r in replies if not r.image and not self.private_text(r.text)]
        return kept, len(kept) < len(replies)
