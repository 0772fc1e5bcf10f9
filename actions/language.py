"""Slots set on every fan message: `language` and `customer` from the channel's metadata,
`change_request` (asking to exchange or pass on tickets) and the `verification` offer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from actions.change_requests import change_request
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

    async def extract_change_request(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """`exchange`/`transfer` for a request to do it now (rules start the form on it).

        A question about the rules leaves it empty (the knowledge base answers), and
        nothing changes while another process (a form) is running.
        """
        if tracker.active_loop.get("name"):
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent != "exchange_transfer":
            return {"change_request": None} if tracker.get_slot("change_request") else {}
        tapped = next(tracker.get_latest_entity_values("change_request"), None)
        if tapped in ("exchange", "transfer"):
            return {"change_request": tapped}
        return {"change_request": change_request(tracker.latest_message.get("text") or "")}

    async def extract_verification(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An offer to verify an order stands for the fan's next answer only."""
        if tracker.get_slot("verification") != "offered" or tracker.active_loop.get("name"):
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in ("affirm", "deny", "stop"):
            return {}
        return {"verification": None, "verify_order_ref": None}
