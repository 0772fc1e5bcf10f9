"""Stateless triage: what the desk would do with a text as a conversation's first message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.rasa.client import RasaClient
from bot.rasa.responses import response_text
from knowledge.language import Language, detect_language
from knowledge.topics import Topic, topic_of

Route = Literal["intent", "faq", "handoff", "out_of_scope"]


@dataclass(frozen=True)
class TriageResult:
    intent: str
    confidence: float
    topic: Topic
    route: Route
    language: Language
    reply: str


def _route(topic: Topic) -> Route:
    if topic == "talk_to_human":
        return "handoff"
    if topic == "out_of_scope":
        return "out_of_scope"
    return "intent"


async def triage(rasa: RasaClient, text: str, language: Language | None = None) -> TriageResult:
    """Classify `text` with the NLU model and say which route the desk would take."""
    parsed = await rasa.parse(text)
    intent = parsed.get("intent") or {}
    name = str(intent.get("name") or "nlu_fallback")
    confidence = float(intent.get("confidence") or 0.0)
    topic = topic_of(name)
    route = _route(topic)
    resolved: Language = language or detect_language(text)
    domain = await rasa.domain()
    response = {"out_of_scope": "utter_out_of_scope", "handoff": "utter_talk_to_human"}.get(
        route, f"utter_{topic}"
    )
    reply = (
        response_text(domain, response, resolved)
        or response_text(domain, "utter_default", resolved)
        or ""
    )
    return TriageResult(name, round(confidence, 4), topic, route, resolved, reply)
