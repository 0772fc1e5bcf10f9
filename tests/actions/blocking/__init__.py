"""An action that blocks its thread, as a database wait does (tests/actions/test_server.py)."""

from __future__ import annotations

import threading
import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

BLOCK_S = 0.3


class ActionBlock(Action):
    def name(self) -> str:
        return "action_block"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        time.sleep(BLOCK_S)  # noqa: ASYNC251 - synchronous work in an async action, on purpose
        return [SlotSet("thread", threading.get_ident())]
