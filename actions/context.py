"""What every action needs to know about the conversation it serves."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.language import language_of
from core.media import signed_path, ticket_qr_path
from core.settings import get_settings
from knowledge.language import Language
from ticketing.risk import HoldSource

__all__ = ["customer_of", "language_of", "money", "qr_url", "source_of", "utter_kwargs"]


def customer_of(tracker: Tracker) -> str:
    """The ticketing customer of this conversation (set by the gateway's metadata)."""
    value = tracker.get_slot("customer")
    if isinstance(value, str) and value:
        return value
    metadata = tracker.latest_message.get("metadata") or {}
    customer = metadata.get("customer")
    if isinstance(customer, str) and customer:
        return customer
    return f"rasa:{tracker.sender_id}"


def source_of(tracker: Tracker) -> HoldSource:
    """Where the fan's latest message came from (the gateway's `metadata["source"]`:
    address, page origin, API key), for the engine's budgets; empty when not given."""
    metadata = tracker.latest_message.get("metadata") or {}
    return HoldSource.from_metadata(metadata.get("source"))


def money(amount: int, currency: str = "CNY") -> str:
    """Minor units as the fan reads them: ¥1,700 (yuan have no fen in our prices)."""
    symbol = "¥" if currency == "CNY" else f"{currency} "
    whole, cents = divmod(amount, 100)
    return f"{symbol}{whole:,}" if cents == 0 else f"{symbol}{whole:,}.{cents:02d}"


def qr_url(ticket_id: int, version: int) -> str:
    """A signed, expiring link to a ticket's QR image on the gateway."""
    settings = get_settings()
    return settings.gateway_url + signed_path(
        settings.media_secret, ticket_qr_path(ticket_id, version)
    )


def utter_kwargs(language: Language, **values: Any) -> dict[str, Any]:
    """Template variables plus the language, for responses with en/zh variants."""
    return {"language": language, **values}
