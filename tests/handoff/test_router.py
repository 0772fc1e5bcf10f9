"""The router's decisions, one reason at a time (pure: no HTTP, no database)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.handoff.policy import load_policy
from bot.handoff.router import RESET, Signals, decide, is_command

POLICY = load_policy()
MISS: dict[str, Any] = {"intent": "nlu_fallback", "confidence": 0.45, "miss": True}
LOW: dict[str, Any] = {"intent": "refund", "confidence": 0.5, "miss": False}
FINE: dict[str, Any] = {"intent": "refund", "confidence": 0.95, "miss": False}


@pytest.mark.parametrize(
    ("signals", "past", "reason"),
    [
        (Signals("I want to talk to a human", "en", "talk_to_human", 0.9), [], "explicit_request"),
        (Signals("can I speak to an agent", "en", "faq_other", 0.4), [], "explicit_request"),
        (Signals("转人工", "zh", "talk_to_human", 0.9), [], "explicit_request"),
        (Signals("connect me please", "en", "talk_to_human", 0.91), [], "explicit_request"),
        (Signals("ok", "en", "payment", 0.9, "payment_failed"), [], "payment_failed"),
        (Signals("this is a useless bot", "en", "complaint", 0.9), [], "frustration"),
        (Signals("你们太差了，垃圾", "zh", "complaint", 0.9), [], "frustration"),
        (
            Signals("This is terrible, I am so angry and disappointed", "en", "order_status", 0.9),
            [],
            "frustration",
        ),
        (Signals("asdf", "en", "nlu_fallback", 0.45), [FINE, MISS], "repeated_miss"),
        (
            Signals("hmm", "en", "faq_other", 0.7, dialogue_miss="no_answer"),
            [MISS],
            "repeated_miss",
        ),
        (Signals("asdf", "en", "nlu_fallback", 0.45, profile="elderly"), [MISS], "repeated_miss"),
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
        (Signals("which matches are on", "en", "match_availability", 0.97), [MISS]),
        # low confidence alone is no miss: the fan got an answer (a topic's, at least)
        (Signals("eh", "en", "refund", 0.5), [LOW, LOW, LOW]),
        (Signals("asdf", "en", "nlu_fallback", 0.45), [FINE] * 5),  # the first miss: clarify
        (Signals("asdf", "en", "nlu_fallback", 0.45), [MISS, FINE]),  # not in a row
        (Signals("asdf", "en", "nlu_fallback", 0.45), [MISS, RESET]),  # counting restarted
        (Signals("asdf", "en", "nlu_fallback", 0.45, profile="vip"), []),  # never the first
        (Signals("hmm", "en", "faq_other", 0.9, dialogue_miss="unknown"), [MISS]),
        (Signals("what's the weather in Paris, it's awful", "en", "out_of_scope", 0.9), []),
        (Signals("I hate rain, the weather is terrible", "en", "out_of_scope", 0.95), [MISS]),
    ],
)
def test_no_escalation(signals: Signals, past: list[dict[str, Any]]) -> None:
    assert not decide(POLICY, signals, past).escalate


def test_priority_profile_comes_from_metadata_or_the_accessibility_intent() -> None:
    assert decide(POLICY, Signals("hi", "en", "greet", 0.99, profile="vip"), []).profile == "vip"
    by_intent = decide(POLICY, Signals("wheelchair?", "en", "accessibility", 0.93), [])
    assert by_intent.profile == "accessibility" and not by_intent.escalate
    assert POLICY.priority_of("explicit_request", "vip") > POLICY.priority_of("frustration", None)
    assert POLICY.priority_of("frustration", None) > POLICY.priority_of("repeated_miss", None)


def test_commands() -> None:
    assert is_command(POLICY, "/human")
    assert is_command(POLICY, "/人工")
    assert not is_command(POLICY, "human")


@given(
    text=st.text(max_size=60),
    confidence=st.floats(min_value=POLICY.thresholds.out_of_scope_confidence, max_value=1.0),
    past=st.lists(st.sampled_from([LOW, MISS, FINE]), max_size=6),
)
def test_confident_out_of_scope_escalates_only_on_an_explicit_request(
    text: str, confidence: float, past: list[dict[str, Any]]
) -> None:
    decision = decide(POLICY, Signals(text, "en", "out_of_scope", confidence), past)
    assert decision.reason in (None, "explicit_request")


def test_what_is_said_during_a_task_is_never_a_miss() -> None:
    # "3" and "the cheap ones" while the buy form asks, "pay now" while seats are held:
    # the form reads them itself and re-asks what it cannot use.
    first = decide(POLICY, Signals("3", "en", "inform", 0.3, in_form=True), [])
    second = decide(
        POLICY, Signals("cheap ones", "en", "nlu_fallback", 0.4, in_form=True), [first.turn]
    )
    third = decide(
        POLICY,
        Signals("??", "en", "faq_other", 0.4, in_form=True, dialogue_miss="no_answer"),
        [first.turn, second.turn],
    )
    assert not (first.escalate or second.escalate or third.escalate)
    assert first.turn["in_form"] and not second.turn["miss"] and not third.turn["miss"]
    # Out of the task the same turns count again, two in a row; a person can always be
    # asked for.
    after = decide(POLICY, Signals("eh", "en", "nlu_fallback", 0.4), [first.turn, second.turn])
    assert not after.escalate
    again = decide(
        POLICY, Signals("eh?", "en", "nlu_fallback", 0.4), [first.turn, second.turn, after.turn]
    )
    assert again.reason == "repeated_miss"
    human = decide(POLICY, Signals("human please", "en", "talk_to_human", 0.9, in_form=True), [])
    assert human.reason == "explicit_request"


@given(
    intent=st.sampled_from(["refund", "payment", "nlu_fallback", "faq_other", "inform"]),
    confidence=st.floats(min_value=0, max_value=1),
    miss=st.sampled_from([None, "no_answer"]),
    in_form=st.booleans(),
)
def test_never_on_the_first_unclear_turn(
    intent: str, confidence: float, miss: str | None, in_form: bool
) -> None:
    signals = Signals("hmm", "en", intent, confidence, dialogue_miss=miss, in_form=in_form)
    assert decide(POLICY, signals, [FINE]).reason is None
