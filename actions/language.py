"""The `language` and `customer` slots: set from the channel's metadata on every message."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from knowledge.language import LANGUAGES, Language, detect_language


def language_of(tracker: Tracker) -> Language:
    """The conversation's language: the gateway's metadata, the slot, or detection."""
    metadata = tracker.latest_message.get("metadata") or {}
    if metadata.get("language") in LANGUAGES:
        return metadata["language"]  # type: ignore[no-any-return]
    value = tracker.get_slot("language")
    if value in LANGUAGES:
        return value  # type: ignore[no-any-return]
    return detect_language(tracker.latest_message.get("text") or "")


class ValidateSlotMappings(ValidationAction):
    """Runs after every fan message (Rasa's `action_validate_slot_mappings`)."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The gateway sends the resolved language with each message; keep it."""
        return {"language": language_of(tracker)}

    async def extract_customer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The channel identity of the fan (e.g. `tg:12345`), sent by the gateway."""
        metadata = tracker.latest_message.get("metadata") or {}
        customer = metadata.get("customer")
        if isinstance(customer, str) and customer:
            return {"customer": customer}
        return {}
