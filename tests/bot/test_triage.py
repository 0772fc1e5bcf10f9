"""Triage reads Chinese in simplified characters and answers in the script it was written in."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.triage import TriageResult, triage
from knowledge.language import Language
from knowledge.retriever import Answer, Candidate

DOMAIN = {
    "responses": {
        "utter_handoff_offer": [
            {
                "condition": [{"type": "slot", "name": "language", "value": "zh"}],
                "text": "这个问题我没有把握回答，我帮你转给人工客服。",
            },
            {"text": "I'm not sure I can answer that well, so I'll pass you to one of our agents."},
        ]
    }
}
REFUND = Candidate(
    entry_id="entry-refund-cancelled-match", topic="refund", category="refunds",
    question="比赛取消了怎么退票？", score=3.2, question_score=1.0, answer_score=0.8,
    lexical_score=0.4,
)  # fmt: skip


class ScriptedRasa:
    """Answers every parse with one intent; keeps the texts it was asked about."""

    def __init__(self, intent: str, confidence: float) -> None:
        self.intent = {"name": intent, "confidence": confidence}
        self.parsed: list[str] = []

    async def parse(self, text: str) -> dict[str, Any]:
        self.parsed.append(text)
        return {"intent": self.intent, "intent_ranking": [self.intent]}

    async def domain(self) -> dict[str, Any]:
        return DOMAIN


class ScriptedRetriever:
    """Answers every question with one FAQ answer (or abstains); keeps the questions."""

    def __init__(self, answer_text: str | None) -> None:
        self.answer_text = answer_text
        self.searched: list[str] = []

    def current(self) -> ScriptedRetriever:
        return self

    def search(self, text: str, language: Language | None = None) -> Answer:
        self.searched.append(text)
        fan: Language = language or "zh"
        if self.answer_text is None:
            return Answer("abstain", "low_score", fan, (REFUND,))
        return Answer("answer", "confident", fan, (REFUND,), self.answer_text, "zh")


def _triage(text: str, rasa: ScriptedRasa, knowledge: ScriptedRetriever) -> TriageResult:
    return asyncio.run(triage(rasa, text, None, knowledge))  # type: ignore[arg-type]


def test_a_traditional_question_is_read_simplified_and_answered_traditional() -> None:
    rasa = ScriptedRasa("refund", 0.4)
    knowledge = ScriptedRetriever("比赛取消会全额退款，请在开赛前申请。")
    result = _triage("比賽取消了，２張門票能退嗎？", rasa, knowledge)
    assert rasa.parsed == knowledge.searched == ["比赛取消了，2张门票能退吗？"]
    assert result.route == "faq" and result.language == "zh"
    assert result.script == "traditional"
    assert result.reply == "比賽取消會全額退款，請在開賽前申請。"


def test_a_reply_from_the_domain_is_in_traditional_too() -> None:
    rasa = ScriptedRasa("talk_to_human", 0.95)
    result = _triage("我要轉人工", rasa, ScriptedRetriever(None))
    assert rasa.parsed == ["我要转人工"]
    assert result.route == "handoff"
    assert result.reply == "這個問題我沒有把握回答，我幫你轉給人工客服。"


def test_simplified_chinese_and_english_are_answered_as_written() -> None:
    person = ScriptedRasa("talk_to_human", 0.95)
    simplified = _triage("我要转人工", person, ScriptedRetriever(None))
    assert simplified.script == "simplified"
    assert simplified.reply == "这个问题我没有把握回答，我帮你转给人工客服。"
    english = _triage("I want a human", person, ScriptedRetriever(None))
    assert english.script == "simplified" and english.language == "en"
    assert english.reply.startswith("I'm not sure I can answer that well")


class UnplacedRasa(ScriptedRasa):
    """Places nothing (a fallback the domain detector kept), with a given ranking."""

    def __init__(self, ranking: list[dict[str, Any]]) -> None:
        super().__init__("nlu_fallback", 0.45)
        self.ranking = ranking

    async def parse(self, text: str) -> dict[str, Any]:
        self.parsed.append(text)
        return {
            "intent": self.intent,
            "intent_ranking": [self.intent, *self.ranking],
            "domain": {"score": 0.9, "in_domain": True},
        }


def test_a_clarify_names_the_likeliest_topic_it_offers() -> None:
    ranking = [{"name": "inform", "confidence": 0.3}, {"name": "membership", "confidence": 0.2}]
    result = _triage("member thing??", UnplacedRasa(ranking), ScriptedRetriever(None))
    assert (result.route, result.topic) == ("clarify", "membership")
    assert result.buttons[0].payload == "/membership"


def test_a_clarify_without_a_likely_topic_takes_the_closest_faq_entry_s() -> None:
    ranking = [{"name": "affirm", "confidence": 0.3}]
    result = _triage("hmm the thing", UnplacedRasa(ranking), ScriptedRetriever(None))
    assert (result.route, result.topic) == ("clarify", "refund")
