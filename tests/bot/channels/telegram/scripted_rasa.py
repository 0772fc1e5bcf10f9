"""A scripted stand-in for the Rasa server, over real HTTP, for the channel's tests.

It answers with what a channel must render (buttons with long payloads, 5,000
characters, an unsigned image link) and says which language it was told, so the
Telegram tests need no trained model. The real assistant is exercised by
tests/e2e/test_telegram.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from tests.support.rasa_auth import signed_by_gateway
from tests.support.server import free_port, serving

TOKEN = "test-rasa-token-0123456789abcdef0123"
LONG_PAYLOAD = '/faq_other{"faq_id":"' + "entry-access-step-free-route-and-more" * 2 + '"}'
PARAGRAPH = "The West Stand is covered. " * 31  # ~840 characters


def long_text() -> str:
    """Just over 5,000 characters in six paragraphs."""
    return "\n\n".join(f"{n}. {PARAGRAPH.strip()}" for n in range(1, 7))


@dataclass
class ScriptedRasa:
    port: int
    received: list[dict[str, Any]] = field(default_factory=list)


def _reply(sender: str, text: str, language: str) -> list[dict[str, Any]]:
    if "buttons" in text:
        return [
            {
                "recipient_id": sender,
                "text": "Where would you like to sit?",
                "buttons": [
                    {"title": "Category 1", "payload": '/inform{"category":"cat1"}'},
                    {"title": "Step-free entry?", "payload": LONG_PAYLOAD},
                ],
            }
        ]
    if "long answer" in text:
        return [{"recipient_id": sender, "text": long_text()}]
    if "boom" in text:
        raise HTTPException(500)
    return [{"recipient_id": sender, "text": f"({language}) bot answer: {text}"}]


def _app(state: ScriptedRasa) -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/gateway/webhook")
    async def webhook(request: Request) -> list[dict[str, Any]]:
        if not signed_by_gateway(request, TOKEN):
            raise HTTPException(401)
        body = await request.json()
        state.received.append(body)
        language = str((body.get("metadata") or {}).get("language"))
        return _reply(str(body["sender"]), str(body["message"]), language)

    @app.get("/conversations/{sender}/tracker")
    async def tracker(sender: str) -> dict[str, Any]:
        return {
            "sender_id": sender,
            "slots": {},
            "latest_message": {"intent": {"name": "faq_other", "confidence": 0.9}},
        }

    @app.get("/status")
    async def status() -> dict[str, Any]:
        return {"model_file": "scripted.tar.gz"}

    return app


@contextmanager
def scripted_rasa() -> Iterator[ScriptedRasa]:
    """Serve the scripted Rasa on a free port in a thread."""
    state = ScriptedRasa(free_port())
    with serving(_app(state), state.port, "/status"):
        yield state
