"""The routing rules of triage, on NLU results and FAQ answers made by hand."""

from __future__ import annotations

from bot.triage import decide_route, in_domain_of, resolve_intent
from knowledge.retriever import Answer, Candidate


def faq(decision: str, topic: str = "stadium_entry") -> Answer:
    candidate = Candidate(
        entry_id="entry-flags", topic=topic, category="entry-security",
        question="Can I bring a flag?", score=1.2, question_score=1.0, answer_score=0.2,
        lexical_score=0.0,
    )  # fmt: skip
    return Answer(decision, "confident", "en", (candidate,))  # type: ignore[arg-type]


def test_a_request_for_a_person_is_a_handoff() -> None:
    assert decide_route("talk_to_human", 0.9, faq("answer")) == ("handoff", "talk_to_human")


def test_a_confident_out_of_scope_wins_even_over_an_faq_hit() -> None:
    assert decide_route("out_of_scope", 0.8, faq("answer")) == ("out_of_scope", "out_of_scope")


def test_transactions_run_their_form() -> None:
    assert decide_route("buy_tickets", 0.9, faq("answer")) == ("intent", "buy_tickets")


def test_questions_go_to_the_faq_with_the_entry_topic() -> None:
    assert decide_route("faq_other", 0.7, faq("answer", "stadium_entry")) == (
        "faq",
        "stadium_entry",
    )
    assert decide_route("stadium_entry", 0.7, faq("suggest"))[0] == "faq"


def test_an_in_scope_question_without_an_answer_goes_to_a_person() -> None:
    assert decide_route("accessibility", 0.8, faq("abstain")) == ("handoff", "accessibility")


def test_unsure_and_unknown_is_out_of_scope() -> None:
    assert decide_route("nlu_fallback", 0.3, faq("abstain"))[0] == "out_of_scope"
    assert decide_route("inform", 0.9, faq("abstain"))[0] == "out_of_scope"


def test_the_top_intent_and_its_confidence_are_used() -> None:
    parsed = {"intent": {"name": "refund", "confidence": 0.83}, "intent_ranking": []}
    assert resolve_intent(parsed) == ("refund", 0.83)


def test_a_fallback_with_an_out_of_scope_runner_up_counts_as_out_of_scope() -> None:
    parsed = {
        "intent": {"name": "nlu_fallback", "confidence": 0.45},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.45},
            {"name": "out_of_scope", "confidence": 0.41},
            {"name": "payment", "confidence": 0.3},
        ],
    }
    assert resolve_intent(parsed) == ("out_of_scope", 0.41)


def test_a_fallback_with_an_in_scope_runner_up_stays_a_fallback() -> None:
    parsed = {
        "intent": {"name": "nlu_fallback", "confidence": 0.45},
        "intent_ranking": [{"name": "payment", "confidence": 0.4}],
    }
    assert resolve_intent(parsed) == ("nlu_fallback", 0.45)
    assert resolve_intent({}) == ("nlu_fallback", 0.0)


def test_an_unplaced_message_in_the_domain_is_clarified_not_declined() -> None:
    assert decide_route("nlu_fallback", 0.45, faq("abstain"), in_domain=True) == (
        "clarify",
        "faq_other",
    )
    assert decide_route("inform", 0.9, faq("abstain"), in_domain=True)[0] == "clarify"


def test_an_out_of_scope_intent_is_declined_even_in_the_domain() -> None:
    # The domain detector already overturned it when it was sure; otherwise it stands.
    assert decide_route("out_of_scope", 0.6, faq("abstain"), in_domain=True)[0] == "out_of_scope"


def test_the_domain_detector_s_refusal_stands_over_an_faq_hit() -> None:
    # The detector sets out_of_scope with confidence 1 - score: 0.47 for a score of 0.53.
    assert decide_route("out_of_scope", 0.47, faq("answer"))[0] == "faq"
    assert decide_route("out_of_scope", 0.47, faq("answer"), out_of_domain=True) == (
        "out_of_scope",
        "out_of_scope",
    )


def test_the_domain_verdict_keeps_a_fallback_from_counting_as_out_of_scope() -> None:
    parsed = {
        "intent": {"name": "nlu_fallback", "confidence": 0.45},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.45},
            {"name": "out_of_scope", "confidence": 0.41},
        ],
        "domain": {"score": 0.8, "in_domain": True},
    }
    assert resolve_intent(parsed) == ("nlu_fallback", 0.45)
    assert in_domain_of(parsed) == (True, 0.8)
    assert in_domain_of({"intent": {}}) == (False, None)
