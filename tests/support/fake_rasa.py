"""A scripted stand-in for the Rasa server, over real HTTP: the gateway's input channel,
the tracker, NLU parsing (`/model/parse`: the script's intent) and `/status`, so
gateway tests need no trained model.

What it answers comes from a script:
- `DESK` (the default): predictable intents and confidences, buttons, a form still
  asking, and the dialogue's handoff and miss signals, for the conversation service,
  the handoff and the web widget;
- `CHANNEL`: what a channel must render (buttons with long payloads, 5,000
  characters, a failing turn) and the language it was told, for the Telegram tests.

The real assistant is exercised by the end-to-end tests (tests/e2e/).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from tests.support.rasa_auth import signed_by_gateway
from tests.support.server import free_port, serving

TOKEN = "test-rasa-token-0123456789abcdef0123"


@dataclass(frozen=True)
class Answer:
    """The bot's messages for one fan message, and what the tracker says of it."""

    messages: list[dict[str, Any]]
    intent: str
    confidence: float
    active_loop: str | None = None


@dataclass(frozen=True)
class Script:
    """How the fake answers (`answer(text, language)`; it may raise `HTTPException`)."""

    answer: Callable[[str, str], Answer]
    slots: dict[str, Any]
    # The tracker's latest intent for a conversation that sent nothing yet.
    untouched: tuple[str, float]


# --- DESK ------------------------------------------------------------------------------

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


def _scripted(text: str) -> tuple[str, float, str, dict[str, Any] | None]:
    lowered = text.lower()
    for needle, intent, confidence, reply, custom in SCRIPT:
        if needle in lowered:
            return intent, confidence, reply, custom
    return "faq_other", 0.9, f"bot answer: {text}", None


def _desk_answer(text: str, language: str) -> Answer:
    intent, confidence, reply, custom = _scripted(text)
    loop = None
    if text.lower() in IN_FORM:
        (intent, confidence), loop = IN_FORM[text.lower()], "buy_form"
        reply = "Which stand would you like?"
    first: dict[str, Any] = {"text": reply}
    buttons = [b for needle, bs in BUTTONS.items() if needle in text.lower() for b in bs]
    if buttons:
        first["buttons"] = [{"title": t, "payload": p} for t, p in buttons]
    messages = [first] if custom is None else [first, {"custom": custom}]
    return Answer(messages, intent, confidence, loop)


DESK = Script(
    _desk_answer,
    slots={"language": "en", "fixture": "demo-fixture", "empty": None},
    untouched=("greet", 1.0),
)

# --- CHANNEL ---------------------------------------------------------------------------

LONG_PAYLOAD = '/faq_other{"faq_id":"' + "entry-access-step-free-route-and-more" * 2 + '"}'
PARAGRAPH = "The West Stand is covered. " * 31  # ~840 characters


def long_text() -> str:
    """Just over 5,000 characters in six paragraphs."""
    return "\n\n".join(f"{n}. {PARAGRAPH.strip()}" for n in range(1, 7))


def _channel_answer(text: str, language: str) -> Answer:
    if "buttons" in text:
        message: dict[str, Any] = {
            "text": "Where would you like to sit?",
            "buttons": [
                {"title": "Category 1", "payload": '/inform{"category":"cat1"}'},
                {"title": "Step-free entry?", "payload": LONG_PAYLOAD},
            ],
        }
    elif "long answer" in text:
        message = {"text": long_text()}
    elif "boom" in text:
        raise HTTPException(500)
    else:
        message = {"text": f"({language}) bot answer: {text}"}
    return Answer([message], "faq_other", 0.9)


CHANNEL = Script(_channel_answer, slots={}, untouched=("faq_other", 0.9))

# --- the server ------------------------------------------------------------------------


@dataclass
class FakeRasa:
    """Where the fake listens, and what it was sent."""

    port: int
    script: Script = DESK
    received: list[dict[str, Any]] = field(default_factory=list)
    latest: dict[str, tuple[str, float, str | None]] = field(default_factory=dict)
    # Seconds each message takes (a slow or overloaded assistant), and how many are at
    # it at once (the most seen is kept).
    delay_s: float = 0.0
    busy: int = 0
    most_busy: int = 0


def _app(state: FakeRasa) -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/gateway/webhook")
    async def webhook(request: Request) -> dict[str, Any]:
        if not signed_by_gateway(request, TOKEN):
            raise HTTPException(401)
        body = await request.json()
        state.received.append(body)
        if state.delay_s:
            state.busy += 1
            state.most_busy = max(state.most_busy, state.busy)
            try:
                await asyncio.sleep(state.delay_s)
            finally:
                state.busy -= 1
        sender = str(body["sender"])
        language = str((body.get("metadata") or {}).get("language"))
        answer = state.script.answer(str(body["message"]), language)
        state.latest[sender] = (answer.intent, answer.confidence, answer.active_loop)
        return {
            "messages": [{"recipient_id": sender, **message} for message in answer.messages],
            "turn": {
                "intent": answer.intent,
                "confidence": answer.confidence,
                "active_loop": answer.active_loop,
                "slots": dict(state.script.slots),
            },
        }

    @app.post("/model/parse")
    async def parse(request: Request) -> dict[str, Any]:
        """NLU only: the script's intent for the text, nothing recorded."""
        if not signed_by_gateway(request, TOKEN):
            raise HTTPException(401)
        text = str((await request.json()).get("text") or "")
        answer = state.script.answer(text, "en")
        intent = {"name": answer.intent, "confidence": answer.confidence}
        return {"text": text, "intent": intent, "intent_ranking": [intent], "entities": []}

    @app.get("/conversations/{sender}/tracker")
    async def tracker(sender: str, request: Request) -> dict[str, Any]:
        if not signed_by_gateway(request, TOKEN):
            raise HTTPException(401)
        intent, confidence, loop = state.latest.get(sender, (*state.script.untouched, None))
        return {
            "sender_id": sender,
            "slots": dict(state.script.slots),
            "latest_message": {"intent": {"name": intent, "confidence": confidence}},
            "active_loop": {"name": loop} if loop else {},
        }

    @app.get("/status")
    async def status() -> dict[str, Any]:
        return {"model_file": "scripted.tar.gz"}

    return app


@contextmanager
def fake_rasa(script: Script = DESK) -> Iterator[FakeRasa]:
    """Serve the fake Rasa with `script` on a free port in a thread."""
    state = FakeRasa(free_port(), script)
    with serving(_app(state), state.port, "/status"):
        yield state
