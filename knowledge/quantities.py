"""Numbers and ticket types in a fan's words: "two", "两张", "2 adults and a kid"."""

from __future__ import annotations

import re
from difflib import get_close_matches

_EN = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "pair": 2, "couple": 2, "three": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "dozen": 12,
}  # fmt: skip
_ZH = {"零": 0, "一": 1, "两": 2, "二": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
       "七": 7, "八": 8, "九": 9, "十": 10}  # fmt: skip
_EN_WORDS = "|".join(sorted(_EN, key=len, reverse=True))
_ZH_DIGITS = "[零一两二俩三四五六七八九十]+"
_ZH_NUM = rf"\d+|{_ZH_DIGITS}"
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")

# concession kind -> words that name it (English and Chinese)
CONCESSION_WORDS: dict[str, tuple[str, ...]] = {
    "child": ("child", "children", "kid", "kids", "boy", "girl", "son", "daughter",
              "儿童", "小孩", "孩子", "小朋友", "儿子", "女儿", "细路", "细路仔", "小童"),
    "senior": ("senior", "seniors", "oap", "pensioner", "pensioners", "elderly",
               "老人", "长者", "老年人", "老人家", "爷爷", "奶奶"),
    "student": ("student", "students", "学生", "大学生"),
    "disabled": ("disabled", "wheelchair user", "残障", "残疾人", "残疾"),
    "adult": ("adult", "adults", "grown-up", "grown-ups", "大人", "成人", "成年人"),
}  # fmt: skip


def _zh_number(text: str) -> int | None:
    if not text or any(c not in _ZH for c in text):
        return None
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_ZH[tens] if tens else 1) * 10 + (_ZH[ones] if ones else 0)
    return _ZH[text] if len(text) == 1 else None


def parse_number(text: str) -> int | None:
    """A whole number written in digits, English words or Chinese numerals."""
    cleaned = text.strip().casefold().translate(_FULLWIDTH)
    digits = re.search(r"\d+", cleaned)
    if digits:
        return int(digits.group())
    for word in re.findall(r"[a-z]+", cleaned):
        if word in _EN and word not in ("a", "an"):
            return _EN[word]
    chinese = re.search(_ZH_DIGITS, cleaned)
    if chinese:
        return _zh_number(chinese.group())
    if re.search(r"\b(a|an)\b", cleaned):
        return 1
    return None


_QUANTITY = re.compile(
    r"(?<!category )(?<!categories )(?<!cat )(?<!section )(?<!row )(?<!block )(?<!gate )"
    r"(?<!level )(?<!stand )"
    rf"(?<![\w-])(\d+|{_EN_WORDS})\s*(?:x\s*)?(?:(?:category|cat)\s*\d\s+|[a-z]+\s+)?"
    r"(?:tickets?|tix|tkts?|seats?|places|people|of us)"
    rf"(?![a-z])|({_ZH_NUM})\s*(?:张|个人|位|人|个座)",
    re.IGNORECASE,
)


def quantity_in(text: str) -> int | None:
    """How many tickets a sentence asks for, when it says so with a unit: "2 tickets",
    "four seats", "两张", "3个人" (a bare number in a sentence may be a date or a time)."""
    found = _QUANTITY.search(text.casefold().translate(_FULLWIDTH))
    if not found:
        return None
    return parse_number(found.group(1) or found.group(2))


_ASCII_KINDS = sorted({w for words in CONCESSION_WORDS.values() for w in words if w.isascii()})


def _near_words(text: str) -> str:
    """Typos of ticket-type words mended ("4 aults" → "4 adults")."""

    def mend(match: re.Match[str]) -> str:
        word = match.group(0)
        if word in _ASCII_KINDS or len(word) < 4:
            return word
        close = get_close_matches(word, _ASCII_KINDS, n=1, cutoff=0.8)
        return close[0] if close else word

    return re.sub(r"[a-z]+", mend, text)


def parse_concessions(text: str) -> dict[str, int]:
    """Counts per ticket type named in the text: "2 adults and a kid" → adult 2, child 1.

    Only types that come with a number (or "a"/"an"/"一个") count; an empty result
    means the fan named none.
    """
    lowered = _near_words(text.casefold().translate(_FULLWIDTH))
    short = re.search(rf"({_ZH_NUM})\s*大\s*({_ZH_NUM})\s*小", lowered)  # 两大一小
    if short:
        adults, children = parse_number(short.group(1)), parse_number(short.group(2))
        if adults is not None and children is not None:
            return {k: n for k, n in (("adult", adults), ("child", children)) if n}
    counts: dict[str, int] = {}
    for kind, words in CONCESSION_WORDS.items():
        for word in sorted(words, key=len, reverse=True):
            pattern = (
                rf"\b(\d+|{_EN_WORDS})\s+(?:[a-z-]+\s+)?{re.escape(word)}\b"
                if word.isascii()
                else rf"({_ZH_NUM})\s*(?:个|位|张|名)?{re.escape(word)}"
            )
            matches = list(re.finditer(pattern, lowered))
            if not word.isascii() and not matches:  # the word first: 成人1张, 小孩1个
                after = rf"{re.escape(word)}\s*({_ZH_NUM})\s*(?:个|位|张|名)"
                matches = list(re.finditer(after, lowered))
            for match in matches:
                number = parse_number(match.group(1))
                if number:
                    counts[kind] = counts.get(kind, 0) + number
            if kind in counts:
                break
    return counts
