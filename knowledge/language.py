"""The two languages the desk speaks, and telling them apart."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")


def detect_language(text: str, default: Language = "en") -> Language:
    """`zh` for text with Han characters (and no kana or hangul), else `default`.

    The desk speaks English and Chinese only, so a script test is both faster and
    more reliable on short chat messages than a statistical detector.
    """
    if _HAN.search(text) and not _KANA_HANGUL.search(text):
        return "zh"
    return default


_WORD = re.compile(r"\b[A-Za-z]{2,}\b")
# An e-mail address, a link or a code says nothing about the language around it.
_NOT_WORDS = re.compile(r"\S+@\S+|\w+://\S+|www\.\S+|\S*\d\S*")
# English words in a row that make a message English, whatever came before ("ok",
# "cat2" or "pay now" alone do not: Chinese fans type them too).
ENGLISH_WORDS = 4


def written_language(text: str) -> Language | None:
    """The language a message is clearly written in, or None when it does not say
    (a number, a button's text, "ok"): Han characters are Chinese; four or more
    English words and no Han characters are English."""
    if _KANA_HANGUL.search(text):
        return None
    if _HAN.search(text):
        return "zh"
    return "en" if len(_WORD.findall(_NOT_WORDS.sub(" ", text))) >= ENGLISH_WORDS else None
