"""The script a fan writes Chinese in, and moving text between the two scripts.

The desk's assistant, FAQ and vocabulary are written in simplified characters. A fan
in Taiwan, Hong Kong or Macau writes traditional ones (門票, 會員), often with
full-width letters and digits from a Chinese input method (ＶＩＰ, ２張). Everything
that reads a fan's Chinese (the NLU, the FAQ retriever, entity matching) reads it
through `to_simplified`; the desk's replies go back through `to_script` in the script
the fan wrote (`script_of`).

Conversion is OpenCC's dictionaries (the `opencc` package: the reference C++
implementation with its data, phrase-aware, a few microseconds per chat message).
The two converters are built on first use, once per process, and shared by threads.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Final, Literal

from opencc import OpenCC

Script = Literal["simplified", "traditional"]
SCRIPTS: tuple[Script, ...] = ("simplified", "traditional")

# The Han ranges of knowledge/language.py: unified ideographs, extension A, compatibility.
_HAN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Traditional (any regional variant) to simplified, with OpenCC's phrase tables.
_TO_SIMPLIFIED: Final = "t2s"
# Simplified to traditional with Taiwan's standard character forms, without phrases
# (see `to_script`).
_TO_TRADITIONAL: Final = "s2tw"

# Full-width forms (U+FF01-U+FF5E) and the ideographic space, folded as NFKC folds them:
# ＶＩＰ → VIP, ２張 → 2張, ＱＲ → QR, ／ → /. NFKC over the whole text would also
# rewrite what Chinese writing uses on purpose (… → ..., ① → 1, ㎡ → m2), so only this
# block is folded, and its sentence punctuation is kept: Chinese sentences are written
# with ，？！：；（）, and so are the NLU's training examples.
_KEEP: Final = frozenset("！，：；？（）")
_FULL_WIDTH: Final[dict[int, str]] = {
    code: unicodedata.normalize("NFKC", chr(code))
    for code in (*range(0xFF01, 0xFF5F), 0x3000)
    if chr(code) not in _KEEP
}

_lock = threading.Lock()
_converters: dict[str, OpenCC] = {}


def _converter(config: str) -> OpenCC:
    """The OpenCC converter for `config`, built on first use (once, whatever the threads)."""
    converter = _converters.get(config)
    if converter is None:
        with _lock:
            converter = _converters.get(config)
            if converter is None:
                converter = OpenCC(config)
                _converters[config] = converter
    return converter


def _convert(text: str, config: str) -> str:
    if text.isascii():  # nothing to convert: English, numbers, payloads
        return text
    return str(_converter(config).convert(text))


def _han_changed(text: str, config: str) -> int:
    """How many Han characters of `text` the conversion `config` changes."""
    converted = _convert(text, config)
    if len(converted) == len(text):
        return sum(
            1
            for before, after in zip(text, converted, strict=True)
            if before != after and _HAN.match(before)
        )
    # A phrase changed length (rare): count character by character instead.
    return sum(1 for char in text if _HAN.match(char) and _convert(char, config) != char)


def script_of(text: str) -> Script | None:
    """The script of the Han characters in `text`; None when it has none.

    Characters only a traditional writer types (門, 買, 會) vote for `traditional`;
    characters only a simplified writer types (门, 买, 会) vote against. Most characters
    (退, 票, 我) are the same in both and do not vote, nor do Latin letters or digits,
    so mixed Chinese and English text is judged on its Chinese. A tie with at least one
    traditional vote is `traditional`: the reverse conversion also counts a few
    characters traditional writers use every day (台 in 台灣), so that side is
    over-counted. Text whose Han characters are all shared is `simplified`, the
    desk's own script.
    """
    if not _HAN.search(text):
        return None
    traditional = _han_changed(text, _TO_SIMPLIFIED)
    if traditional and traditional >= _han_changed(text, _TO_TRADITIONAL):
        return "traditional"
    return "simplified"


def to_simplified(text: str) -> str:
    """`text` as the desk reads it: simplified characters, full-width letters folded.

    门票 stays, 門票 → 门票, 我想買ＶＩＰ門票 ２張 → 我想买VIP门票 2张. Text with no
    traditional characters comes back unchanged except for the full-width forms;
    English text comes back unchanged.
    """
    if text.isascii():
        return text
    return _convert(text.translate(_FULL_WIDTH), _TO_SIMPLIFIED)


def to_script(text: str, script: Script) -> str:
    """A reply written in simplified characters, in `script` (the fan's).

    Traditional uses OpenCC's `s2tw`: Taiwan's standard character forms (為, 群眾,
    裡, 秘), character by character, without Taiwan phrases. These forms read as
    ordinary traditional in Hong Kong and Macau too, where generic `s2t` writes
    OpenCC's own forms that few fans use (爲, 羣衆, 祕) and `s2hk` writes Hong Kong
    forms that look odd in Taiwan (説, 温). Phrase conversion (`s2twp`) would change
    the desk's words (信息 → 資訊, 网络 → 網路), which is not the fan's script but
    another vocabulary. Latin text, numbers, links and order references are unchanged.
    """
    if script == "simplified":
        return text
    return _convert(text, _TO_TRADITIONAL)
