"""The router's decisions, one reason at a time (pure: no HTTP, no database)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.handoff.policy import load_policy
from bot.handoff.router import RESET, Signals, decide, is_command

POLICY = load_policy()
LOW: dict[str, Any] = {"intent": "refund", "confidence": 0.5, "low": True, "fallback": False}
FALLBACK: dict[str, Any] = {"intent": "nlu_fallback", "confidence": 0.45, "low": True}
FALLBACK["fallback"] = True
FINE: dict[str, Any] = {"intent": "refund", "confidence": 0.95, "low": False, "fallback": False}


@pytest.mark.parametrize(
    ("signals", "past", "reason"),
    [
        (Signals("I want to talk to a human", "en", "talk_to_human", 0.9), [], "explicit_request"),
        (Signals("can I speak to an agent", "en", "faq_other", 0.4), [], "explicit_request"),
        (Signals("转人工", "zh", "talk_to_human", 0.9), [], "explicit_request"),
        (Signals("connect me please", "en", "talk_to_human", 0.91), [], "explicit_request"),
        (Signals("ok", "en", "payment", 0.9, "payment_failed"), [], "payment_failed"),
        (Signals("ok", "en", "faq_other", 0.9, "faq_miss"), [], "faq_miss"),
        (Signals("this is a useless bot", "en", "complaint", 0.9), [], "frustration"),
        (Signals("你们太差了，垃圾", "zh", "complaint", 0.9), [], "frustration"),
        (
            Signals("This is terrible, I am so angry and disappointed", "en", "order_status", 0.9),
            [],
            "frustration",
        ),
        (Signals("asdf", "en", "nlu_fallback", 0.45), [FINE, FALLBACK], "repeated_fallback"),
        (Signals("asdf", "en", "nlu_fallback", 0.45), [FALLBACK, *[FINE] * 3], "repeated_fallback"),
        (Signals("eh", "en", "refund", 0.5), [LOW], "low_confidence"),
        (Signals("eh", "en", "refund", 0.5, profile="elderly"), [], "priority_profile"),
    ],
)
def test_each_reason_is_recorded(signals: Signals, past: list[dict[str, Any]], reason: str) -> None:
    decision = decide(POLICY, signals, past)
    assert decision.escalate
    assert decision.reason == reason
    assert decision.detail


@pytest.mark.parametrize(
    ("signals", "past"),
    [
        (Signals("which matches are on", "en", "match_availability", 0.97), [LOW]),
        (Signals("eh", "en", "refund", 0.5), [FINE]),  # one low turn is not two
        (Signals("asdf", "en", "nlu_fallback", 0.45), [FINE, *[FINE] * 4]),
        (Signals("asdf", "en", "nlu_fallback", 0.45), [FALLBACK, *[FINE] * 4]),  # outside 5
        (Signals("eh", "en", "refund", 0.5), [LOW, RESET]),  # counting restarted
        (Signals("what's the weather in Paris, it's awful", "en", "out_of_scope", 0.9), []),
        (Signals("I hate rain, the weather is terrible", "en", "out_of_scope", 0.95), [LOW]),
    ],
)
def test_no_escalation(signals: Signals, past: list[dict[str, Any]]) -> None:
    assert not decide(POLICY, signals, past).escalate


def test_priority_profile_comes_from_metadata_or_the_accessibility_intent() -> None:
    assert decide(POLICY, Signals("hi", "en", "greet", 0.99, profile="vip"), []).profile == "vip"
    by_intent = decide(POLICY, Signals("wheelchair?", "en", "accessibility", 0.93), [])
    assert by_intent.profile == "accessibility" and not by_intent.escalate
    assert POLICY.priority_of("explicit_request", "vip") > POLICY.priority_of("frustration", None)
    assert POLICY.priority_of("frustration", None) > POLICY.priority_of("low_confidence", None)


def test_commands() -> None:
    assert is_command(POLICY, "/human")
    assert is_command(POLICY, "/人工")
    assert not is_command(POLICY, "human")


@given(
    text=st.text(max_size=60),
    confidence=st.floats(min_value=POLICY.thresholds.out_of_scope_confidence, max_value=1.0),
    past=st.lists(st.sampled_from([LOW, FALLBACK, FINE]), max_size=6),
)
def test_confident_out_of_scope_escalates_only_on_an_explicit_request(
    text: str, confidence: float, past: list[dict[str, Any]]
) -> None:
    decision = decide(POLICY, Signals(text, "en", "out_of_scope", confidence), past)
    assert decision.reason in (None, "explicit_request")


def test_answers_inside_a_form_do_not_count_as_misses() -> None:
    # "3" and "the cheap ones" while the buy form asks: low confidence, yet the form
    # reads them itself and re-prompts what it cannot use.
    first = decide(POLICY, Signals("3", "en", "inform", 0.3, in_form=True), [])
    second = decide(
        POLICY, Signals("cheap ones", "en", "nlu_fallback", 0.4, in_form=True), [first.turn]
    )
    assert not first.escalate and not second.escalate
    assert first.turn["in_form"] and not first.turn["low"] and not second.turn["fallback"]
    # Out of the form the same turns count again, and a person can always be asked for.
    after = decide(POLICY, Signals("eh", "en", "refund", 0.5), [first.turn, second.turn])
    assert not after.escalate
    again = decide(
        POLICY, Signals("eh?", "en", "refund", 0.5), [*[first.turn, second.turn], after.turn]
    )
    assert again.reason == "low_confidence"
    human = decide(POLICY, Signals("human please", "en", "talk_to_human", 0.9, in_form=True), [])
    assert human.reason == "explicit_request"
