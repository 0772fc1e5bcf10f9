from __future__ import annotations

import re
from dataclasses import replace

import pytest

from knowledge.config import KnowledgeConfig
from knowledge.corpus import Corpus
from knowledge.encoders import Encoder
from knowledge.index import FaqIndex
from knowledge.retriever import Candidate, Retriever
from knowledge.thresholds import Thresholds
from tests.knowledge.conftest import make_entry

HAN = re.compile(r"[\u4e00-\u9fff]")


# Written for these tests: in neither the corpus nor any labelled set (checked with grep).
UNSEEN = [
    ("Am I allowed to take a banner on a pole into the ground?", "entry-flags-banners"),
    ("球场里允许挂横幅吗", "entry-flags-banners"),
    ("What happens to my money if the game is called off?", "entry-refund-cancelled-match"),
    ("比赛被取消的话钱怎么退", "entry-refund-cancelled-match"),
    ("how many minutes does the hold on my seats last", "entry-buy-hold-expired"),
    ("买票的时候座位能保留多久", "entry-buy-hold-expired"),
    ("is it ok to bring an umbrella to the match", "entry-security-umbrella"),
    ("可以带雨伞进场吗", "entry-security-umbrella"),
    ("can I carry a power bank through security", "entry-security-power-bank"),
    ("充电宝能带进去吗", "entry-security-power-bank"),
    ("my guide dog comes everywhere with me, can he come in?", "entry-access-assistance-dogs"),
    ("导盲犬可以进球场吗", "entry-access-assistance-dogs"),
    ("will a screenshot of my QR code work at the turnstile?", "entry-delivery-screenshot"),
    ("截图的二维码能用吗", "entry-delivery-screenshot"),
    ("my brother wants my ticket, how do I hand it over to him", "entry-transfer-how"),
    ("票能不能过户给我同事", "entry-transfer-how"),
    ("I'm sick and can't go, can I get my money back?", "entry-refund-illness"),
    ("生病去不了能退票吗", "entry-refund-illness"),
    ("which metro station is closest to the stadium", "entry-transport-metro"),
    ("坐地铁去球场在哪站下", "entry-transport-metro"),
    (
        "forgot my scarf under the seat after the game, where can I ask for it",
        "entry-lost-property",
    ),
    ("东西落在球场了怎么办", "entry-lost-property"),
    ("do students get cheaper tickets", "entry-concession-student"),
    ("学生买票有优惠吗", "entry-concession-student"),
]
# Calibrated on blind questions (set C), the thresholds keep 0.80 of real answerable
# questions among the candidates shown and decline the rest to reject near misses
# (docs/faq.md). 0.70 leaves room for sampling error on 24 questions, not for a collapse.
KEPT_AT_LEAST = 0.70


@pytest.mark.parametrize(("text", "entry_id"), UNSEEN)
def test_unseen_paraphrases_rank_their_entry_first_in_both_languages(
    retriever: Retriever, text: str, entry_id: str
) -> None:
    answer = retriever.search(text)
    assert answer.candidates[0].entry_id == entry_id
    assert len({c.entry_id for c in answer.candidates}) == len(answer.candidates) == 3
    if answer.decision == "abstain":  # declined: nothing is said, whatever the ranking
        assert answer.text is None and answer.entry_id is None


def test_most_unseen_paraphrases_are_answered_or_suggested(retriever: Retriever) -> None:
    decisions = [retriever.search(text).decision for text, _ in UNSEEN]
    kept = sum(decision in ("answer", "suggest") for decision in decisions)
    assert kept / len(UNSEEN) >= KEPT_AT_LEAST, decisions
    for language in ("en", "zh"):  # neither language is left behind
        own = [
            d
            for (text, _), d in zip(UNSEEN, decisions, strict=True)
            if bool(HAN.search(text)) == (language == "zh")
        ]
        assert sum(d != "abstain" for d in own) / len(own) >= 0.6, (language, own)


def test_a_chinese_question_is_answered_in_chinese(retriever: Retriever) -> None:
    answer = retriever.search("比赛被取消的话钱怎么退")
    assert answer.decision == "answer"
    assert answer.language == answer.answer_language == "zh"
    assert answer.text is not None and HAN.search(answer.text)
    assert answer.note is None
    assert answer.topic == "refund" and answer.entry_id == "entry-refund-cancelled-match"
    assert HAN.search(answer.candidates[0].question)


# Written by hand the way a fan in Taiwan or Hong Kong types them, beside UNSEEN's twins.
TRADITIONAL_TWINS = [
    ("比賽被取消的話錢怎麼退", "比赛被取消的话钱怎么退"),
    ("截圖的二維碼能用嗎", "截图的二维码能用吗"),
    ("充電寶能帶進去嗎", "充电宝能带进去吗"),
    ("學生買票有優惠嗎", "学生买票有优惠吗"),
    ("坐地鐵去球場在哪站下", "坐地铁去球场在哪站下"),
]


@pytest.mark.parametrize(("traditional", "simplified"), TRADITIONAL_TWINS)
def test_a_traditional_question_finds_what_its_simplified_twin_finds(
    retriever: Retriever, traditional: str, simplified: str
) -> None:
    assert retriever.search(traditional) == retriever.search(simplified)


def test_the_fans_language_wins_over_detection(retriever: Retriever) -> None:
    answer = retriever.search("What happens to my money if the game is called off?", language="zh")
    assert answer.decision == "answer" and answer.answer_language == "zh"


@pytest.mark.parametrize("text", ["what is the boiling point of mercury", "水星离太阳有多远"])
def test_unanswerable_questions_abstain(retriever: Retriever, text: str) -> None:
    answer = retriever.search(text)
    assert answer.decision == "abstain"
    assert answer.text is None and answer.entry_id is None


def test_an_entry_in_one_language_answers_in_that_language_and_says_so(
    corpus: Corpus, use_encoder: Encoder, config: KnowledgeConfig
) -> None:
    kite = make_entry(
        "db-7",
        "Can I bring a kite to the stadium?",
        "Kites are not allowed inside the stadium.",
        paraphrases=["kite allowed at the match?"],
    )
    others = [e for e in corpus.entries if e.id in ("entry-pay-cash", "entry-wifi")]
    index = FaqIndex.build(others, use_encoder)
    lenient = Retriever(
        index, Thresholds(answer=0.0, margin=0.0, suggest=0.0), config, persist=False
    )
    assert lenient.upsert([kite]) == ["db-7"]
    answer = lenient.search("可以带风筝进体育场吗")
    assert answer.decision == "answer" and answer.entry_id == "db-7"
    assert answer.language == "zh" and answer.answer_language == "en"
    assert answer.text == "Kites are not allowed inside the stadium."
    assert answer.note == "这条答案目前只有英文版本。"
    assert answer.candidates[0].question == "Can I bring a kite to the stadium?"
    english = lenient.search("Can I take my kite in?")
    assert english.answer_language == "en" and english.note is None


def _candidate(entry_id: str, score: float, out_of_scope: float = 0.0) -> Candidate:
    return Candidate(
        entry_id,
        "refund",
        "refunds-exchanges-transfers",
        "q",
        score,
        score,
        0.0,
        0.0,
        out_of_scope=out_of_scope,
    )


def test_decisions_follow_threshold_and_margin(retriever: Retriever) -> None:
    limits = Thresholds(answer=1.0, margin=0.1, suggest=0.8)
    judge = Retriever(retriever.index, limits, retriever.config, persist=False)
    first = "entry-refund-can-i"
    clear = judge.decide("en", [_candidate(first, 1.3), _candidate("entry-refund-cut-off", 1.0)])
    assert (clear.decision, clear.reason) == ("answer", "confident")
    close = judge.decide("en", [_candidate(first, 1.3), _candidate("entry-refund-cut-off", 1.25)])
    assert (close.decision, close.reason) == ("suggest", "close_runner_up")
    grey = judge.decide("en", [_candidate(first, 0.9)])
    assert (grey.decision, grey.reason) == ("suggest", "grey_zone")
    low = judge.decide("en", [_candidate(first, 0.5)])
    assert (low.decision, low.reason) == ("abstain", "low_score")
    assert judge.decide("en", []).decision == "abstain"


def test_a_message_the_classifier_calls_out_of_scope_abstains_whatever_its_score(
    retriever: Retriever,
) -> None:
    limits = Thresholds(answer=1.0, margin=0.1, suggest=0.8, out_of_scope=0.3)
    judge = Retriever(retriever.index, limits, retriever.config, persist=False)
    first = "entry-refund-can-i"
    near_miss = judge.decide("en", [_candidate(first, 2.5, out_of_scope=0.31)])
    assert (near_miss.decision, near_miss.reason) == ("abstain", "out_of_scope")
    assert near_miss.text is None
    kept = judge.decide("en", [_candidate(first, 2.5, out_of_scope=0.3)])
    assert (kept.decision, kept.reason) == ("answer", "confident")
    # A best score at `out_of_scope_unless` or above answers despite the classifier.
    spared = Retriever(
        retriever.index, replace(limits, out_of_scope_unless=2.5), retriever.config, persist=False
    )
    clear = spared.decide("en", [_candidate(first, 2.5, out_of_scope=0.9)])
    assert (clear.decision, clear.reason) == ("answer", "confident")
    below = spared.decide("en", [_candidate(first, 2.49, out_of_scope=0.9)])
    assert (below.decision, below.reason) == ("abstain", "out_of_scope")
    # The default limit (1.0) never fires: thresholds from before the limit still work.
    default = Retriever(retriever.index, Thresholds(), retriever.config, persist=False)
    assert default.decide("en", [_candidate(first, 2.5, out_of_scope=1.0)]).decision == "answer"
