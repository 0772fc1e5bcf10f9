"""The actions' own check of group chats: a personal flow refuses there and ends the form."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.groups import in_group_chat, private_only
from core.texts import text


def _tracker(client: dict[str, Any] | None, language: str = "en") -> Tracker:
    metadata: dict[str, Any] = {"customer": "tg:7", "language": language}
    if client is not None:
        metadata["client"] = client
    return Tracker(
        sender_id="tg--100-u7",
        slots={"language": language, "customer": "tg:7"},
        latest_message={"text": "my tickets", "intent": {}, "entities": [], "metadata": metadata},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "refund_form"},
        latest_action_name="action_listen",
    )


def test_in_a_group_a_personal_flow_is_refused_in_the_fan_s_language_and_the_form_ends() -> None:
    dispatcher = CollectingDispatcher()
    group = _tracker({"telegram": {"chat_id": -100, "chat_type": "group"}}, "zh")
    assert in_group_chat(group)
    events = private_only(dispatcher, group)
    assert events == [{"event": "active_loop", "timestamp": None, "name": None}]
    assert [m["text"] for m in dispatcher.messages] == [text("groups.private_only", "zh")]


def test_private_chats_and_other_channels_go_on() -> None:
    for client in ({"telegram": {"chat_id": 7, "chat_type": "private"}}, {"widget": {}}, None):
        dispatcher = CollectingDispatcher()
        assert private_only(dispatcher, _tracker(client)) is None
        assert dispatcher.messages == []
