"""The router: after each assistant turn, should a person take over, and why?

A pure function of the policy, this turn's signals (text, NLU intent and confidence,
a reason requested by the dialogue, the fan's profile) and the router's memory of
the previous turns. No I/O: `HandoffDesk` feeds it and persists the memory.

Order of the checks (the first that fires is the recorded reason):

1. explicit request: a keyword ("human", "人工" ...) or the talk_to_human intent;
2. a reason the dialogue asked for with `{"custom": {"handoff": reason}}`
   (payment_failed, faq_miss);
3. a confident out_of_scope text stops here: declined by the bot, never escalated;
4. frustration: abuse words, or strongly negative English sentiment;
5. repeated fallback (nlu_fallback 2 times in the last 5 turns);
6. low confidence twice in a row.

5 and 6 do not count answers given while a form is still asking (buying, refunding):
"3", "the cheap ones", "yes" are often classified with low confidence, yet the form
reads them from entities and the text and re-prompts what it cannot use.

A fan with a priority profile (elderly, accessibility, VIP) needs one miss instead of
two for 5 and 6 (`priority_profile`), and is always queued with the profile's priority.
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
    "faq_miss",
    "frustration",
    "repeated_fallback",
    "low_confidence",
    "priority_profile",
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
    in_form: bool = False  # a form is active after this turn (it handles its own answers)


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
    confident = (signals.confidence or 0.0) >= policy.thresholds.low_confidence
    if signals.intent in policy.profile_intents and confident:
        return policy.profile_intents[signals.intent]
    return remembered


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
    known = signals.intent is not None and signals.confidence is not None
    confidence = signals.confidence if signals.confidence is not None else 1.0
    fallback = signals.intent == FALLBACK_INTENT and not signals.in_form
    low = known and not signals.in_form and (fallback or confidence < t.low_confidence)
    turn = {"intent": signals.intent, "confidence": signals.confidence, "low": low}
    turn["fallback"] = fallback
    if signals.in_form:
        turn["in_form"] = True

    def verdict(reason: Reason | None, detail: str = "") -> Decision:
        return Decision(reason, detail, profile, turn)

    keyword = explicit_keyword(policy, signals.text)
    if keyword is not None:
        return verdict("explicit_request", f"keyword {keyword!r}")
    if signals.intent in policy.explicit_request.intents and confidence >= t.low_confidence:
        return verdict("explicit_request", f"intent {signals.intent}")
    if signals.dialogue_reason is not None and signals.dialogue_reason in policy.dialogue_reasons:
        return verdict(signals.dialogue_reason, "requested by the dialogue")  # type: ignore[arg-type]
    if signals.intent == "out_of_scope" and confidence >= t.out_of_scope_confidence:
        return verdict(None, "confident out of scope: declined")
    found = frustration(policy, signals.text, signals.language)
    if found is not None:
        return verdict("frustration", found.detail)

    strikes_fallback = 1 if profile else t.fallback_strikes
    strikes_low = 1 if profile else t.low_confidence_strikes
    window = [*past_turns[-(t.fallback_window - 1) :], turn] if t.fallback_window > 1 else [turn]
    fallbacks = sum(1 for past in window if past.get("fallback"))
    if fallback and fallbacks >= strikes_fallback:
        if profile:
            return verdict("priority_profile", f"{profile}, after a fallback")
        return verdict("repeated_fallback", f"{fallbacks} fallbacks in {len(window)} turns")
    if low:
        streak = 1
        for past in reversed(past_turns):
            if not past.get("low"):
                break
            streak += 1
        if streak >= strikes_low:
            if profile:
                return verdict("priority_profile", f"{profile}, confidence {confidence:.2f}")
            return verdict("low_confidence", f"{streak} low-confidence turns in a row")
    return verdict(None)
