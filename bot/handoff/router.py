"""The router: after each assistant turn, should a person take over, and why?

A pure function of the policy, this turn's signals (text, NLU intent and confidence,
what the dialogue reported, the fan's profile, whether a task is in progress) and the
router's memory of the previous turns. No I/O: `HandoffDesk` feeds it and persists the
memory.

A person is offered on purpose, never by accident. In order (the first that fires is
the recorded reason):

1. explicit request: a keyword ("human", "人工" ...) or the talk_to_human intent;
2. a reason the dialogue asked for with `{"custom": {"handoff": reason}}`
   (payment_failed: a card declined);
3. a confident out_of_scope text stops here: declined by the bot, never escalated;
4. frustration: abuse words, or strongly negative English sentiment;
5. repeated misses: `miss_strikes` (2) turns in a row the desk could not place, the
   first of which it answered with a clarifying question: intent nlu_fallback, or a
   miss the dialogue reported (`{"custom": {"miss": ...}}`, e.g. no answer found).

Never on the first unclear turn; never for what a fan says while a form or a purchase
is in progress (the form reads "3", "the cheap ones", "yes" itself and re-asks what it
cannot use, and a question in between is answered and the form goes on); never because
a question got its topic's general answer. A fan's priority profile (elderly,
accessibility, VIP) orders the queue; it does not make the router quicker to escalate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.handoff.policy import Policy
from bot.handoff.sentiment import frustration
from knowledge.language import Language

Reason = Literal[
    "explicit_request",
    "payment_failed",
    "frustration",
    "repeated_miss",
    "callback",
]
FALLBACK_INTENT = "nlu_fallback"
RESET: dict[str, Any] = {"reset": True}


@dataclass(frozen=True)
class Signals:
    """What one fan turn tells the router."""

    text: str
    language: Language
    intent: str | None = None
    confidence: float | None = None
    dialogue_reason: str | None = None
    profile: str | None = None
    in_form: bool = False  # a form or a purchase is in progress after this turn
    dialogue_miss: str | None = None  # the dialogue found no answer ("faq_miss", ...)


@dataclass(frozen=True)
class Decision:
    """The router's verdict on one turn, and the turn record to remember."""

    reason: Reason | None
    detail: str
    profile: str | None
    turn: dict[str, Any]

    @property
    def escalate(self) -> bool:
        """True when a person should take over."""
        return self.reason is not None


def explicit_keyword(policy: Policy, text: str) -> str | None:
    """The explicit-request keyword found in `text` (any language), or None."""
    for pattern in policy.keyword_patterns.values():
        match = pattern.search(text) if pattern is not None else None
        if match:
            return match.group(0)
    return None


def is_command(policy: Policy, text: str) -> bool:
    """True for an explicit-request command such as `/human` (handled without the bot)."""
    word = text.strip().split(maxsplit=1)[0].lower() if text.strip() else ""
    return word in {c.lower() for c in policy.explicit_request.commands}


def _profile(policy: Policy, signals: Signals, remembered: str | None) -> str | None:
    if signals.profile in policy.profiles:
        return signals.profile
    confident = (signals.confidence or 0.0) >= policy.thresholds.intent_confidence
    if signals.intent in policy.profile_intents and confident:
        return policy.profile_intents[signals.intent]
    return remembered


def is_miss(policy: Policy, signals: Signals) -> bool:
    """A turn the desk could not place (outside a task): see the module."""
    if signals.in_form:
        return False
    if signals.intent in policy.misses.intents:
        return True
    return signals.dialogue_miss is not None and signals.dialogue_miss in policy.misses.signals


def decide(
    policy: Policy,
    signals: Signals,
    past_turns: list[dict[str, Any]],
    remembered_profile: str | None = None,
) -> Decision:
    """Decide whether this turn escalates; `past_turns` are earlier `Decision.turn`s.

    Counting starts again after a turn marked `{"reset": True}` (an escalation or a
    hand back), so a fan handed back to the bot is not escalated again at once.
    """
    t = policy.thresholds
    resets = [i for i, past in enumerate(past_turns) if past.get("reset")]
    past_turns = past_turns[resets[-1] + 1 :] if resets else past_turns
    profile = _profile(policy, signals, remembered_profile)
    confidence = signals.confidence if signals.confidence is not None else 1.0
    miss = is_miss(policy, signals)
    turn: dict[str, Any] = {"intent": signals.intent, "confidence": signals.confidence}
    turn["miss"] = miss
    if signals.in_form:
        turn["in_form"] = True

    def verdict(reason: Reason | None, detail: str = "") -> Decision:
        return Decision(reason, detail, profile, turn)

    keyword = explicit_keyword(policy, signals.text)
    if keyword is not None:
        return verdict("explicit_request", f"keyword {keyword!r}")
    if signals.intent in policy.explicit_request.intents and confidence >= t.intent_confidence:
        return verdict("explicit_request", f"intent {signals.intent}")
    if signals.dialogue_reason is not None and signals.dialogue_reason in policy.dialogue_reasons:
        return verdict(signals.dialogue_reason, "requested by the dialogue")  # type: ignore[arg-type]
    if signals.intent == "out_of_scope" and confidence >= t.out_of_scope_confidence:
        return verdict(None, "confident out of scope: declined")
    found = frustration(policy, signals.text, signals.language)
    if found is not None:
        return verdict("frustration", found.detail)
    if miss:
        streak = 1
        for past in reversed(past_turns):
            if not past.get("miss"):
                break
            streak += 1
        if streak >= t.miss_strikes:
            return verdict("repeated_miss", f"{streak} turns in a row the desk could not place")
    return verdict(None)
