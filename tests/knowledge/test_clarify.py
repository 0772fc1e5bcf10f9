"""The clarifying reply's buttons: likely topics, closest FAQ questions, a person."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.clarify import Choice, ClarifyError, choices, ranked


def test_topics_follow_the_ranking_and_skip_what_is_not_a_topic() -> None:
    ranking = [("nlu_fallback", 0.45), ("membership", 0.3), ("affirm", 0.2), ("refund", 0.1)]
    offered = choices().offer(ranking, [("entry-x", "Can I bring a flag?")], "en")
    assert offered == [
        Choice("Membership", "/membership"),
        Choice("Refunds", "/refund"),
        Choice("Can I bring a flag?", '/faq_other{"faq_id":"entry-x"}'),
        Choice("Talk to a person", "/talk_to_human"),
    ]


def test_the_likely_topic_is_the_first_topic_offered() -> None:
    ranking = [("nlu_fallback", 0.45), ("inform", 0.3), ("membership", 0.2), ("refund", 0.1)]
    assert choices().likely(ranking) == "membership"
    assert choices().likely([("nlu_fallback", 0.45), ("resale", 0.001)]) is None


def test_a_parse_s_ranking_becomes_pairs() -> None:
    parse = [{"name": "refund", "confidence": 0.6}, {"name": "payment"}]
    assert ranked(parse) == [("refund", 0.6), ("payment", 0.0)]
    assert ranked(None) == []


def test_counts_are_capped_and_unlikely_topics_left_out() -> None:
    ranking = [("buy_tickets", 0.4), ("refund", 0.3), ("payment", 0.2), ("ballot", 0.05)]
    ranking += [("resale", 0.001)]
    questions = [("a", "A?"), ("b", "B?"), ("c", "C?")]
    offered = choices().offer(ranking, questions, "zh")
    assert [c.title for c in offered] == ["买票", "退票", "付款", "A?", "B?", "转人工"]


def test_a_file_without_english_titles_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "clarify.yml"
    bad.write_text("topics:\n  refund: {zh: 退票}\nperson: {en: Person}\n", encoding="utf-8")
    with pytest.raises(ClarifyError, match=r"topics\.refund"):
        choices.__wrapped__(bad)
