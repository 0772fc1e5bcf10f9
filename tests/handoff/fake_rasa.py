"""A scripted stand-in for the Rasa server (REST channel + tracker), over real HTTP.

The gateway's handoff tests need predictable intents and confidences; the real
assistant is exercised by tests/e2e/test_handoff_console.py.
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

# (substring, intent, confidence, reply, custom)
SCRIPT: list[tuple[str, str, float, str, dict[str, Any] | None]] = [
    ("human", "talk_to_human", 0.95, "Our agents work 09:00-21:00.", None),
    ("人工", "talk_to_human", 0.95, "人工客服每天 9:00–21:00 在线。", None),
    ("weather", "out_of_scope", 0.92, "I can't help with that.", None),
    ("xyzzy", "nlu_fallback", 0.45, "Sorry, I didn't quite get that.", None),
    ("hmm", "faq_other", 0.5, "Sorry, I didn't quite get that.", {"miss": "no_answer"}),
    ("eh refunds", "refund", 0.5, "Refunds: up to 48 hours before kick-off.", None),
    ("pay now", "payment", 0.9, "Your payment did not go through.", {"handoff": "payment_failed"}),
    ("wheelchair", "accessibility", 0.93, "Wheelchair spaces are in W-ACC.", None),
    ("hi", "greet", 0.99, "Hi! I'm the ticket desk.", None),
]
# Texts answered with buttons (title, payload): what a tapped button sends back.
BUTTONS = {
    "ready to pay": [("Pay ¥100", "/affirm"), ("Cancel", "/stop")],
    "which match": [("Tickets v Harbour City", '/buy_tickets{"fixture":"2"}')],
    "哪场": [("主场对港城的门票", '/buy_tickets{"fixture":"2"}')],
}
# Answers the buy form is still asking about (Rasa's active loop stays on).
IN_FORM = {"cheap ones": ("inform", 0.4), "erm the east": ("nlu_fallback", 0.42)}


@dataclass
class FakeRasa:
    """Where the fake listens, and what it was sent."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    latest: dict[str, tuple[str, float, str | None]] = field(default_factory=dict)


def _answer(text: str) -> tuple[str, float, str, dict[str, Any] | None]:
    lowered = text.lower()
    for needle, intent, confidence, reply, custom in SCRIPT:
        if needle in lowered:
            return intent, confidence, reply, custom
    return "faq_other", 0.9, f"bot answer: {text}", None


def _app(state: FakeRasa) -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/gateway/webhook")
    async def webhook(request: Request) -> list[dict[str, Any]]:
        if not signed_by_gateway(request, TOKEN):
            raise HTTPException(401)
        body = await request.json()
        state.received.append(body)
        text = str(body["message"])
        intent, confidence, reply, custom = _answer(text)
        loop = None
        if text.lower() in IN_FORM:
            (intent, confidence), loop = IN_FORM[text.lower()], "buy_form"
            reply = "Which stand would you like?"
        state.latest[str(body["sender"])] = (intent, confidence, loop)
        out: list[dict[str, Any]] = [{"recipient_id": body["sender"], "text": reply}]
        buttons = [b for needle, bs in BUTTONS.items() if needle in text.lower() for b in bs]
        if buttons:
            out[0]["buttons"] = [{"title": t, "payload": p} for t, p in buttons]
        if custom is not None:
            out.append({"recipient_id": body["sender"], "custom": custom})
        return out

    @app.get("/conversations/{sender}/tracker")
    async def tracker(sender: str, request: Request) -> dict[str, Any]:
        if not signed_by_gateway(request, TOKEN):
            raise HTTPException(401)
        intent, confidence, loop = state.latest.get(sender, ("greet", 1.0, None))
        return {
            "sender_id": sender,
            "slots": {"language": "en", "fixture": "demo-fixture", "empty": None},
            "latest_message": {"intent": {"name": intent, "confidence": confidence}},
            "active_loop": {"name": loop} if loop else {},
        }

    return app


@contextmanager
def fake_rasa() -> Iterator[FakeRasa]:
    """Serve the fake Rasa on a free port in a thread."""
    state = FakeRasa(free_port())
    with serving(_app(state), state.port, "/conversations/x/tracker"):
        yield state
