"""Stateless triage: what the desk would do with a text as a conversation's first message.

Routes, in order:
1. an explicit request for a person → `handoff`;
2. a confident `out_of_scope` intent → `out_of_scope` (never escalated);
3. a transaction (buy, fixtures, orders, refunds, exchanges) → `intent`: a form runs;
4. small talk (greetings, thanks) → `intent`;
5. a question the FAQ retriever answers (or can offer choices for) → `faq`;
6. a question about tickets or match day it cannot answer → `handoff`;
7. a message the domain detector keeps but nothing places → `clarify` (the likely
   topics and closest FAQ questions as buttons: knowledge/clarify.py; its topic is
   the likeliest one offered);
8. anything else → `out_of_scope`.

The NLU's domain detector (components/domain.py) has already settled whether the
text is about what the desk serves: its score is returned as `domain`.

The NLU and the FAQ read the text in simplified characters (knowledge/script.py);
the reply is written in the script the text was written in.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from anyio import to_thread

from bot.rasa.client import RasaClient
from bot.rasa.responses import response_text
from knowledge.clarify import Choice, ranked
from knowledge.clarify import choices as clarify_choices
from knowledge.language import Language, detect_language
from knowledge.retriever import Answer
from knowledge.script import Script, script_of, to_script, to_simplified
from knowledge.shared import SharedRetriever
from knowledge.topics import Topic, topic_of

Route = Literal["intent", "faq", "handoff", "clarify", "out_of_scope"]

TRANSACTIONS: frozenset[Topic] = frozenset(
    {"buy_tickets", "match_availability", "order_status", "refund", "exchange_transfer"}
)
SMALL_TALK: frozenset[str] = frozenset({"greet", "goodbye", "thanks"})
CONFIDENT_OUT_OF_SCOPE = 0.5
CONFIDENT_INTENT = 0.5


@dataclass(frozen=True)
class FaqMatch:
    id: str
    question: str
    score: float


@dataclass(frozen=True)
class TriageResult:
    intent: str
    confidence: float
    topic: Topic
    route: Route
    language: Language
    reply: str
    faq: FaqMatch | None = None
    script: Script = "simplified"
    domain: float | None = None
    buttons: tuple[Choice, ...] = ()


def decide_route(
    intent: str,
    confidence: float,
    faq: Answer | None,
    in_domain: bool = False,
    out_of_domain: bool = False,
) -> tuple[Route, Topic]:
    """The route and topic for an NLU result, the FAQ retriever's answer and the domain.

    `out_of_domain`: the domain detector declined the text (its `out_of_scope` stands
    whatever its confidence, as it does in a conversation).
    """
    topic = topic_of(intent)
    if topic == "talk_to_human":
        return "handoff", topic
    if intent == "out_of_scope" and (confidence >= CONFIDENT_OUT_OF_SCOPE or out_of_domain):
        return "out_of_scope", topic
    if intent in SMALL_TALK:
        return "intent", topic
    if topic in TRANSACTIONS and confidence >= CONFIDENT_INTENT:
        return "intent", topic
    if faq is not None and faq.decision in ("answer", "suggest") and faq.best is not None:
        return "faq", faq.best.topic
    in_scope = intent not in ("out_of_scope", "nlu_fallback") and confidence >= CONFIDENT_INTENT
    if in_scope and intent not in ("affirm", "deny", "inform", "stop"):
        return "handoff", topic
    if in_domain and intent != "out_of_scope":
        return "clarify", "faq_other"
    return "out_of_scope", "out_of_scope"


def in_domain_of(parsed: dict[str, Any]) -> tuple[bool, float | None]:
    """The domain detector's verdict and score in a Rasa parse result (False, None: none)."""
    domain = parsed.get("domain")
    if not isinstance(domain, dict) or "score" not in domain:
        return False, None
    return bool(domain.get("in_domain")), float(domain["score"])


def resolve_intent(parsed: dict[str, Any]) -> tuple[str, float]:
    """The intent and confidence triage uses from a Rasa parse result.

    Below the fallback threshold, an `out_of_scope` runner-up still counts as
    out of scope (with its own confidence), so an unrelated text is declined,
    unless the domain detector kept the text (then it is asked about, not declined).
    """
    intent = parsed.get("intent") or {}
    name = str(intent.get("name") or "nlu_fallback")
    confidence = float(intent.get("confidence") or 0.0)
    if name == "nlu_fallback" and not in_domain_of(parsed)[0]:
        ranking = parsed.get("intent_ranking") or []
        runner_up = next((r for r in ranking if r.get("name") != "nlu_fallback"), None)
        if runner_up and runner_up.get("name") == "out_of_scope":
            name, confidence = "out_of_scope", float(runner_up.get("confidence") or 0.0)
    return name, confidence


async def _search(
    knowledge: SharedRetriever | None, text: str, language: Language
) -> Answer | None:
    if knowledge is None:
        return None
    retriever = await to_thread.run_sync(knowledge.current)
    return await to_thread.run_sync(retriever.search, text, language)


async def triage(
    rasa: RasaClient,
    text: str,
    language: Language | None = None,
    knowledge: SharedRetriever | None = None,
) -> TriageResult:
    """Classify `text` with the NLU model and the FAQ retriever; say which route the desk takes."""
    script: Script = script_of(text) or "simplified"
    simplified = to_simplified(text)
    resolved: Language = language or detect_language(text)
    # The NLU (in Rasa's process) and the FAQ retriever (here) run side by side.
    parsed, faq = await asyncio.gather(
        rasa.parse(simplified), _search(knowledge, simplified, resolved)
    )
    name, confidence = resolve_intent(parsed)
    in_domain, domain_score = in_domain_of(parsed)
    out_of_domain = domain_score is not None and not in_domain
    route, topic = decide_route(name, confidence, faq, in_domain, out_of_domain)
    match = None
    reply = ""
    buttons: tuple[Choice, ...] = ()
    if route == "clarify":
        ranking = ranked(parsed.get("intent_ranking"))
        candidates = faq.candidates if faq else ()
        closest = [(c.entry_id, c.question) for c in candidates]
        offered = clarify_choices()
        buttons = tuple(
            Choice(to_script(b.title, script), b.payload)
            for b in offered.offer(ranking, closest, resolved)
        )
        # The topic is the desk's best guess: the first topic it offers, else the
        # closest FAQ entry's.
        likely = offered.likely(ranking)
        if likely is not None:
            topic = topic_of(likely)
        elif candidates:
            topic = candidates[0].topic
    if route == "faq" and faq is not None and faq.best is not None:
        match = FaqMatch(faq.best.entry_id, faq.best.question, round(faq.best.score, 4))
        reply = faq.text or ""
    if not reply:
        domain = await rasa.domain()
        response = {
            "out_of_scope": "utter_out_of_scope",
            "handoff": "utter_handoff_offer",
            "faq": "utter_faq_suggest",
            "clarify": "utter_clarify",
        }.get(route, f"utter_{topic}")
        reply = response_text(domain, response, resolved) or ""
    reply = to_script(reply, script)
    return TriageResult(
        name,
        round(confidence, 4),
        topic,
        route,
        resolved,
        reply,
        match,
        script,
        None if domain_score is None else round(domain_score, 4),
        buttons,
    )
