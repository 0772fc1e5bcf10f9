"""What the agent sees besides the transcript: the bot's slots and last intents, and
the fan's orders from the ticketing engine.

Slots come with each answer of Rasa's gateway channel (`nlu_of_turn`) or, for the
console, from Rasa's tracker (`GET /conversations/{id}/tracker`, with the same base
URL and token as the gateway's RasaClient); the last intents come from the router's
own memory, so they are there even while Rasa is down. Orders come from
`ticketing.orders.orders_of` for the conversation's customer id (the one the
conversation service passes to Rasa, remembered by the router).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.orm import Session

from bot.rasa.auth import RasaAuth
from bot.rasa.client import server_for
from ticketing.errors import TicketingError
from ticketing.orders import orders_of

log = logging.getLogger("matchday.handoff")
TRACKER_TIMEOUT_S = 3.0
INTERNAL_SLOTS = frozenset({"session_started_metadata", "requested_slot"})


@dataclass(frozen=True)
class Nlu:
    """Intent and confidence of the fan's latest message, as Rasa's tracker has them."""

    intent: str | None
    confidence: float | None
    slots: dict[str, Any]
    active_form: str | None = None  # the form (Rasa's active loop) still asking questions


class TrackerReader:
    """Reads conversation trackers from the Rasa server (never raises: None on failure)."""

    def __init__(
        self, base_urls: str | list[str], token: str, timeout_s: float = TRACKER_TIMEOUT_S
    ) -> None:
        self._base_urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        self._auth = RasaAuth(token)
        self._timeout_s = timeout_s
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout_s, auth=self._auth)
        return self._http

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def latest(self, conversation_id: str) -> Nlu | None:
        """The latest message's NLU result and the slots, or None if Rasa cannot say."""
        params = {"include_events": "NONE"}
        try:
            server = self._base_urls[server_for(conversation_id, len(self._base_urls))]
            response = await self._client().get(
                f"{server}/conversations/{conversation_id}/tracker", params=params
            )
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("tracker of %s unavailable: %s", conversation_id, exc)
            return None
        latest = body.get("latest_message") or {}
        intent = latest.get("intent") or {}
        return _nlu(
            intent.get("name"),
            intent.get("confidence"),
            (body.get("active_loop") or {}).get("name"),
            body.get("slots"),
        )


def _nlu(name: Any, confidence: Any, loop: Any, slots: Any) -> Nlu:
    return Nlu(
        str(name) if name else None,
        float(confidence) if isinstance(confidence, int | float) else None,
        {
            k: v
            for k, v in (slots if isinstance(slots, dict) else {}).items()
            if v is not None and k not in INTERNAL_SLOTS
        },
        str(loop) if loop else None,
    )


def nlu_of_turn(turn: dict[str, Any] | None) -> Nlu | None:
    """The same from the summary Rasa's gateway channel returns with its answer
    (components/channel.py), so no second request is needed; None when it has none."""
    if turn is None:
        return None
    return _nlu(
        turn.get("intent"), turn.get("confidence"), turn.get("active_loop"), turn.get("slots")
    )


def orders_for(session: Session, customer: str) -> list[dict[str, Any]]:
    """The orders of `customer` (an external id) as plain dicts; empty when unknown."""
    try:
        views = orders_of(session, customer)
    except TicketingError as exc:
        log.warning("orders of %s unavailable: %s", customer, exc)
        return []
    return [
        {
            "ref": v.ref,
            "status": v.status,
            "fixture_id": v.fixture_id,
            "total": v.total,
            "currency": v.currency,
            "created_at": v.created_at,
            "tickets": len(v.tickets),
        }
        for v in views
    ]
