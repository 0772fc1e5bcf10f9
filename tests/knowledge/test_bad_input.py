from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.retriever import Retriever
from knowledge.text import clean

BAD = [
    "",
    "   \n\t  ",
    "🙂🙂🙂⚽️🎉",
    "???!!!...",
    "refund " * 3000,  # ~21 kB
    "退票" * 10000,  # 20,000 characters of Chinese
    "can I 退票 for my ticket? мой билет チケット 🎟️",
    "can\x00 I\x07 bring\x1b[31m a flag\u200b\u202e?",
    "\ud800 lone surrogate \udfff",
    "ｃａｎ Ｉ ｂｒｉｎｇ ａ ｆｌａｇ",
    "a",
    "0",
]


@pytest.mark.parametrize("text", BAD)
def test_bad_input_is_answered_sanely_or_declined(retriever: Retriever, text: str) -> None:
    answer = retriever.search(text)
    assert answer.decision in ("answer", "suggest", "abstain")
    assert answer.language in ("en", "zh")
    assert len(answer.candidates) <= 3


@pytest.mark.parametrize("text", ["", "🙂🙂🙂⚽️🎉", "???!!!", "\x00\x01\x02"])
def test_text_without_letters_is_declined_without_encoding(retriever: Retriever, text: str) -> None:
    answer = retriever.search(text)
    assert (answer.decision, answer.reason) == ("abstain", "no_content")


def test_long_text_is_truncated_and_control_characters_removed() -> None:
    cleaned = clean("x" * 20_000 + "\x00", max_chars=1000)
    assert len(cleaned) == 1000
    assert clean("a\x00b\u200bc\nd") == "a b c d"


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_arbitrary_unicode_never_crashes(retriever: Retriever, text: str) -> None:
    answer = retriever.search(text)
    assert answer.decision in ("answer", "suggest", "abstain")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    language=st.sampled_from(["en", "zh"]),
)
def test_arbitrary_unicode_with_a_given_language_never_crashes(
    retriever: Retriever, text: str, language: str
) -> None:
    answer = retriever.search(text, language=language)  # type: ignore[arg-type]
    assert answer.language == language
