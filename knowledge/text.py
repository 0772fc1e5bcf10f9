"""Fan text as the retriever sees it: cleaned, bounded and split into search terms."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

DEFAULT_MAX_CHARS: Final = 1000

_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SPACE = re.compile(r"\s+")
# Words that carry no meaning for matching a question to an FAQ entry.
_STOP: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "am",
        "was",
        "do",
        "does",
        "did",
        "i",
        "i'm",
        "my",
        "me",
        "you",
        "your",
        "we",
        "our",
        "us",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "it",
        "its",
        "can",
        "could",
        "what",
        "how",
        "much",
        "many",
        "be",
        "with",
        "and",
        "or",
        "if",
        "any",
        "there",
        "this",
        "that",
        "get",
        "will",
        "would",
        "have",
        "has",
        "pls",
        "please",
        "hi",
        "hello",
        "thanks",
    ]
)


def clean(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Normalise text for matching: NFKC, no control characters, one space, bounded length.

    Very long messages are cut to `max_chars`: the question is almost always near the
    start, and the encoder's cost grows with length.
    """
    text = unicodedata.normalize("NFKC", text[: max_chars * 4])
    text = "".join(
        " " if unicodedata.category(char).startswith(("C", "Z")) else char for char in text
    )
    return _SPACE.sub(" ", text).strip()[:max_chars].strip()


def has_content(text: str) -> bool:
    """Whether the text has any letter or digit (emoji and punctuation alone do not count)."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def terms(text: str) -> list[str]:
    """Search terms: English words (stop words dropped, plural `s` stripped) and Han bigrams.

    Chinese has no spaces, so overlapping character pairs stand in for words; Latin
    tokens inside Chinese text (`W3`, `visa`, `premium`) count as words.
    """
    lowered = text.lower()
    out: list[str] = []
    for word in _WORD.findall(lowered):
        if word in _STOP:
            continue
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("s") and len(word) > 3 and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    for run in _HAN_RUN.findall(lowered):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out
