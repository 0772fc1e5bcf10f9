"""Group chats, from the actions' side: a second check behind the Telegram channel's.

The Telegram channel keeps anything about a fan's own tickets out of group chats before
the dialogue sees it (bot/channels/telegram/groups.py). The gateway also tells the
assistant where a message was written (`metadata.client.telegram.chat_type`), so an
action that shows or changes a fan's tickets, orders or holds can refuse in a group
even if the dialogue got there by mistake:

- `private_only` at the start of such a flow (a form's validation, the first question,
  `action_order_status`): says so in the fan's language (`groups.private_only`) and
  returns the events that end an active form;
- `in_group_chat` in the steps after it (quotes, confirmations, holds, payment): return
  early, silently (the fan was told once).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.language import language_of
from core.texts import text

GROUP_CHAT = "group"


def in_group_chat(tracker: Tracker) -> bool:
    """Whether the fan's latest message was written in a group chat."""
    metadata: Any = tracker.latest_message.get("metadata") or {}
    client = metadata.get("client") if isinstance(metadata, dict) else None
    telegram = client.get("telegram") if isinstance(client, dict) else None
    return isinstance(telegram, dict) and telegram.get("chat_type") == GROUP_CHAT


def private_only(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """In a group chat: tell the fan this is for a private chat and return the events
    that end any active form (return them from the action). None elsewhere: go on."""
    if not in_group_chat(tracker):
        return None
    dispatcher.utter_message(text=text("groups.private_only", language_of(tracker)))
    return [ActiveLoop(None)]
