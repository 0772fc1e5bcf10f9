"""The only way into the assistant: the gateway's authenticated input channel.

Fans never reach Rasa. The gateway forwards every channel's messages (API, web
widget, Telegram) here, and the metadata it sends (the fan's customer id above
all) is what the custom actions act on. So every call must prove it comes from
the gateway: an `Authorization: Bearer <JWT>` header signed (HS256) with the
secret in `MATCHDAY_RASA_TOKEN`, the same token Rasa's own HTTP API checks
(`components/server.py` starts Rasa with it as its JWT secret). A call without
it, with a wrong signature or an expired token gets 401 and reaches nothing.

Rasa's stock `rest` channel takes anyone's word for the sender and metadata; it
is not configured (credentials.yml lists this channel only).

The metadata's `correlation_id` (the gateway's id for this fan message) is current
while Rasa handles the message (components/correlation.py), so Rasa's log lines about
it carry it, and one line per message says for whom and how long it took.
"""

from __future__ import annotations

import json
import logging
import os
import time
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import jwt
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from components import correlation
from components.tracker_store import desk_store, turn_summary

log = logging.getLogger(__name__)

SECRET_VARIABLE = "MATCHDAY_RASA_TOKEN"  # noqa: S105 - a variable name
# A message's JSON body is small (text, sender, metadata); anything larger is not ours.
MAX_BODY_BYTES = 256 * 1024


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


def verify_bearer(header: Optional[Text], secret: Text) -> Optional[Dict[Text, Any]]:
    """The claims of a valid gateway token in an `Authorization` header, else None."""
    if not secret or not header or not header.startswith("Bearer "):
        return None
    try:
        claims: Dict[Text, Any] = jwt.decode(
            header[len("Bearer ") :],
            secret,
            algorithms=["HS256"],
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError:
        return None
    return claims


async def _turn(request: Request, sender: Text) -> Optional[Dict[Text, Any]]:
    """The turn's intent, form and slots for the gateway's handoff router (None if the
    tracker cannot be read)."""
    agent = getattr(request.app.ctx, "agent", None)
    store = getattr(agent, "tracker_store", None)
    tracker = None
    desk = desk_store(store)
    if desk is not None:
        tracker = desk.latest(sender)
    if tracker is None and store is not None:
        try:
            tracker = await store.retrieve(sender)
        except Exception:
            log.exception("tracker of %s unreadable", sender)
    return turn_summary(tracker) if tracker is not None else None


class GatewayInput(InputChannel):
    """`POST /webhooks/gateway/webhook`: a fan's message, forwarded by the gateway."""

    @classmethod
    def name(cls) -> Text:
        return "gateway"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "GatewayInput":
        return cls()

    def __init__(self, secret: Optional[Text] = None) -> None:
        self.secret = secret if secret is not None else os.environ.get(SECRET_VARIABLE, "")
        if not self.secret:
            raise ValueError(f"{SECRET_VARIABLE} is empty: the gateway channel would be open")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        gateway = Blueprint("gateway_webhook", __name__)

        @gateway.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @gateway.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if verify_bearer(request.headers.get("Authorization"), self.secret) is None:
                return _error(401, "unauthorized", "a valid gateway token is required")
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, "payload_too_large", "the message body is too large")
            try:
                body = json.loads(request.body or b"null")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return _error(400, "invalid_body", "expected a JSON object")
            sender, text = body.get("sender"), body.get("message")
            metadata = body.get("metadata")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return _error(400, "invalid_body", "`sender` and `message` are required")
            if metadata is not None and not isinstance(metadata, dict):
                return _error(400, "invalid_body", "`metadata` must be an object")
            collector = CollectingOutputChannel()
            given = correlation.sane((metadata or {}).get(correlation.METADATA_KEY))
            with correlation.bind(given):
                started = time.perf_counter()
                answered = False
                try:
                    await on_new_message(
                        UserMessage(
                            text, collector, sender, input_channel=self.name(), metadata=metadata
                        )
                    )
                    answered = True
                except CancelledError:
                    log.error("message of %s timed out", sender)
                log.info(
                    "message of %s answered in %.3f s (%d replies)",
                    sender,
                    time.perf_counter() - started,
                    len(collector.messages),
                )
            return response.json(
                {
                    "messages": collector.messages,
                    "turn": await _turn(request, sender) if answered else None,
                }
            )

        return gateway
