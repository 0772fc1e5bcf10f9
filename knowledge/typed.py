"""A typed reply read against the buttons just offered: which button did the fan mean?

Fans on a phone type more than they tap: "categry 2", "the second one", "the Sunday
game", "cheapest", "pay now", "好的，退吧", "港城那场", "二類席". Before the NLU reads a
message, the desk compares it with the titles of the buttons it offered last; when the
message names exactly one of them, it is that button's payload, as if tapped. In order:

1. the whole title (normalised: width, case, script, punctuation and prices aside), or a
   near spelling of it;
2. a position: "the first one", "2nd", "第二场", "最后一个";
3. a price: "cheapest", "最便宜的" (the lowest amount in the titles), "most expensive";
4. what a yes/no/cancel button does (data/dialogue/typed_answers.yml): a short message
   with "pay now", "go ahead", "好的", "退吧", without a negation, for an /affirm button;
5. the words of one title: every word the fan typed (fillers aside) is a word of that
   title or a prefix or near spelling of one ("harbour", "cat 2", "sunday"), and of no
   other; in Chinese, what is left is part of exactly one title ("港城", "二类").

Anything else (several answers at once, a question, a change of mind) is left to the
NLU: None. Pure functions; the word lists are read once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.quantities import parse_number
from knowledge.script import to_simplified

TYPED_ANSWERS_FILE = (
    Path(__file__).resolve().parent.parent / "data" / "dialogue" / "typed_answers.yml"
)
# Longer messages are answers to more than one question, or questions: the NLU's.
MAX_WORDS = 8
MAX_HAN = 14
MAX_ACTION_WORDS = 6  # a yes, a no or a cancel is short
MAX_ACTION_HAN = 8
NEAR = 0.8  # similarity of two spellings of one word (or title) that count as the same
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PRICE = re.compile(r"[¥$€£]\s?\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s?(?:元|块|yuan|rmb)")
_BRACKETED = re.compile(r"\((?:sandbox|test)[^)]*\)")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|#")
_INTENT = re.compile(r"^/([a-z_]+)")
_QUESTION = re.compile(
    r"^(?:how|what|when|where|why|which|who|can|could|do|does|is|are|will|would|should)\b"
    r"|吗$|呢$|怎么|如何|什么|哪里|哪儿|为什么|能不能|可不可以|是不是|几时|点样|乜嘢"
)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|pair|couple)\b"
    r"|[一两二俩三四五六七八九十][张個个位人]"
)
_ZH_DIGITS = dict(zip("123456", "一二三四五六", strict=True))
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")  # "cat2" is "cat 2"


@dataclass(frozen=True)
class Offered:
    """A button as the fan saw it."""

    title: str
    payload: str


@dataclass(frozen=True)
class TypedAnswers:
    """The word lists of data/dialogue/typed_answers.yml, normalised."""

    intents: dict[str, dict[str, tuple[str, ...]]]
    negations: dict[str, tuple[str, ...]]
    ordinals_en: dict[str, int]
    ordinals_zh: dict[str, int]
    last_zh: tuple[str, ...]
    first_zh: tuple[str, ...]
    cheapest: dict[str, tuple[str, ...]]
    dearest: dict[str, tuple[str, ...]]
    title_yes: tuple[str, ...]
    fillers_en: frozenset[str]
    fillers_zh: tuple[str, ...]


def normalise(text: str) -> str:
    """Width, case and script folded; prices and the sandbox note out; spaces single."""
    folded = to_simplified(unicodedata.normalize("NFKC", text)).casefold()
    folded = _BRACKETED.sub(" ", _PRICE.sub(" ", folded))
    folded = re.sub(r"[^\w\s'#\u3400-\u9fff]", " ", folded)
    folded = re.sub(r"([1-6])\s*(?=[类等])", lambda m: _ZH_DIGITS[m.group(1)], folded)  # 2类
    return re.sub(r"\s+", " ", folded).strip()


def _words(values: Any) -> tuple[str, ...]:
    return tuple(normalise(str(v)) for v in values or ())


def read_typed_answers(path: Path = TYPED_ANSWERS_FILE) -> TypedAnswers:
    """Read and check the file (a missing section is an error, with the file's name)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        intents = {
            intent: {lang: _words(words) for lang, words in by_lang.items()}
            for intent, by_lang in data["intents"].items()
        }
        ordinals = data["ordinals"]
        return TypedAnswers(
            intents=intents,
            negations={lang: _words(w) for lang, w in data["negations"].items()},
            ordinals_en={normalise(str(k)): int(v) for k, v in ordinals["en"].items()},
            ordinals_zh={str(k): int(v) for k, v in ordinals["zh"].items()},
            last_zh=_words(ordinals["zh_last"]),
            first_zh=_words(ordinals["zh_first"]),
            cheapest={lang: _words(w) for lang, w in data["cheapest"].items()},
            dearest={lang: _words(w) for lang, w in data["dearest"].items()},
            title_yes=tuple(w for lang in ("en", "zh") for w in _words(data["title_yes"][lang])),
            fillers_en=frozenset(_words(data["fillers"]["en"])),
            fillers_zh=tuple(sorted(_words(data["fillers"]["zh"]), key=len, reverse=True)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: missing or malformed section {exc}") from exc


@lru_cache(maxsize=1)
def typed_answers() -> TypedAnswers:
    """The desk's word lists (read once)."""
    return read_typed_answers()


def _has_phrase(text: str, phrase: str, *, whole_char: bool = False) -> bool:
    if whole_char and len(phrase) == 1 and _HAN.match(phrase):
        # "好", "要", "退": the whole reply (with a particle), never part of a sentence
        # ("我想退票" is no yes).
        return re.fullmatch(rf"{phrase}[吧啊呀了的嘛哦喔啦]*", text.replace(" ", "")) is not None
    if _HAN.search(phrase):
        return phrase in text
    return re.search(rf"(?<![\w']){re.escape(phrase)}(?![\w'])", text) is not None


def _near(a: str, b: str) -> bool:
    return SequenceMatcher(None, a, b).ratio() >= NEAR


def _word_fits(word: str, title_words: Sequence[str], initial: bool = False) -> bool:
    for t in title_words:
        if word == t:
            return True
        if initial and len(word) == 1 and len(t) >= 5 and t.startswith(word):
            return True  # "c 2" with a number beside it: Category 2
        if len(word) >= 3 and len(t) >= 3 and (t.startswith(word) or word.startswith(t)):
            return True
        if len(word) >= 5 and _near(word, t):
            return True
    return False


def _as_digits(word: str) -> str:
    number = parse_number(word) if word.isalpha() and word not in ("a", "an") else None
    return str(number) if number is not None and not _HAN.search(word) else word


def _amount(title: str) -> float | None:
    found = _PRICE.search(unicodedata.normalize("NFKC", title))
    if not found:
        return None
    return float(re.sub(r"[^\d.]", "", found.group()) or "nan")


def _intent_of(payload: str) -> str | None:
    found = _INTENT.match(payload.strip())
    return found.group(1) if found else None


class _Reading:
    def __init__(self, text: str, offered: Sequence[Offered], words: TypedAnswers) -> None:
        self.raw = text
        self.text = normalise(text)
        self.offered = list(offered)
        self.words = words
        self.han = bool(_HAN.search(self.text))
        self.tokens = _TOKEN.findall(_LETTER_DIGIT.sub(" ", self.text))
        self.titles = [normalise(b.title) for b in self.offered]

    def too_long(self) -> bool:
        han = len(_HAN.findall(self.text))
        return len(self.tokens) > MAX_WORDS or han > MAX_HAN

    def question(self) -> bool:
        """ "how do i pay", "can I pay later", "付款怎么付": asked, not answered."""
        if "?" in self.raw or "？" in self.raw:
            return True
        return _QUESTION.search(self.text) is not None

    def languages(self) -> tuple[str, ...]:
        return ("zh", "en") if self.han else ("en",)

    def whole_title(self) -> Offered | None:
        spoken = " ".join(_as_digits(w) for w in self.content().split())
        exact = [
            b for b, t in zip(self.offered, self.titles, strict=True) if t in (self.text, spoken)
        ]
        if len(exact) == 1:
            return exact[0]
        if len(self.text) < 5:
            return None
        near = [
            b for b, t in zip(self.offered, self.titles, strict=True) if t and _near(self.text, t)
        ]
        return near[0] if len(near) == 1 else None

    def content(self) -> str:
        """The message without filler words (and, in Chinese, filler characters)."""
        text = self.text
        if self.han:
            for filler in self.words.fillers_zh:
                text = text.replace(filler, " ")
        words = _TOKEN.findall(_LETTER_DIGIT.sub(" ", text))
        kept = [w for w in words if w not in self.words.fillers_en]
        han = "".join(_HAN.findall(text))
        return " ".join([*kept, han] if han else kept).strip()

    def position(self) -> Offered | None:
        rest = self.content()
        index: int | None = None
        if self.han:
            found = re.fullmatch(r"第\s*([一二三四五12345])", rest.replace(" ", ""))
            if found:
                index = self.words.ordinals_zh[found.group(1)]
            elif any(_has_phrase(self.text, p) for p in self.words.last_zh) and len(rest) <= 4:
                index = -1
            elif any(_has_phrase(self.text, p) for p in self.words.first_zh) and len(rest) <= 5:
                index = 1
        else:
            ordinal = self._english_ordinal(rest)
            index = ordinal
        if index is None or not self.offered:
            return None
        if index == -1:
            return self.offered[-1]
        return self.offered[index - 1] if 1 <= index <= len(self.offered) else None

    def _english_ordinal(self, rest: str) -> int | None:
        words = re.sub(r"\b(\d)\s+(st|nd|rd|th)\b", r"\1\2", rest).split()  # "2 nd": 2nd
        if len(words) == 1 and words[0] in self.words.ordinals_en:
            return self.words.ordinals_en[words[0]]
        spoken = " ".join(self.tokens)
        found = re.fullmatch(r"(?:number|no|option|#)\s*([1-5])", spoken)
        return int(found.group(1)) if found else None

    def price(self) -> Offered | None:
        priced = [(amount, b) for b in self.offered if (amount := _amount(b.title)) is not None]
        if len(priced) < 2:
            return None
        for kind, pick in (("cheapest", min), ("dearest", max)):
            lists = getattr(self.words, kind)
            phrases = [p for lang in self.languages() for p in lists.get(lang, ())]
            if any(_has_phrase(self.text, p) for p in phrases):
                amount = pick(a for a, _ in priced)
                chosen = [b for a, b in priced if a == amount]
                return chosen[0] if len(chosen) == 1 else None
        return None

    def action(self) -> Offered | None:
        if _NUMBER.search(self.text):
            return None  # "ok but 3 tickets", "其实要三张": a change, the NLU's
        if len(self.tokens) > MAX_ACTION_WORDS or len(_HAN.findall(self.text)) > MAX_ACTION_HAN:
            return None  # a sentence, not a yes
        by_intent: dict[str, Offered] = {}
        for button, title in zip(self.offered, self.titles, strict=True):
            intent = _intent_of(button.payload)
            if intent not in self.words.intents:
                intent = self._title_intent(title)  # "Yes, pass one on now" is a yes
            if intent is not None and intent not in by_intent:
                by_intent[intent] = button
        negated = any(
            _has_phrase(self.text, n)
            for lang in self.languages()
            for n in self.words.negations[lang]
        )
        for intent in ("stop", "deny", "affirm"):
            chosen = by_intent.get(intent)
            if chosen is None or (intent == "affirm" and negated):
                continue
            phrases = [p for lang in self.languages() for p in self.words.intents[intent][lang]]
            said = any(_has_phrase(self.text, p, whole_char=True) for p in phrases)
            if said or self._misspelt(phrases):
                return chosen
        return None

    def _misspelt(self, phrases: list[str]) -> bool:
        """One word, a near spelling of a one-word phrase ("perefct", "confrim")."""
        if len(self.tokens) != 1 or len(self.tokens[0]) < 5 or self.han:
            return False
        return any(" " not in p and len(p) >= 5 and _near(self.tokens[0], p) for p in phrases)

    def _title_intent(self, title: str) -> str | None:
        first = re.split(r"\s", title, maxsplit=1)[0] if title else ""
        return "affirm" if first in self.words.title_yes else None

    def title_words(self) -> Offered | None:
        rest = self.content()
        if not rest:
            return None
        han = "".join(_HAN.findall(rest))
        latin = [_as_digits(w) for w in rest.split() if not _HAN.search(w)]
        if han and len(han) < 2 and not latin:
            return None
        if not han and not any(re.search(r"[a-z]", w) for w in latin):
            return None  # digits alone ("2") are a title only when whole (step 1)
        fits = []
        for button, title in zip(self.offered, self.titles, strict=True):
            title_han = "".join(_HAN.findall(title))
            title_latin = [_as_digits(w) for w in _TOKEN.findall(title)]
            if han and han not in title_han:
                continue
            numbered = any(w.isdigit() for w in latin)
            if all(_word_fits(w, title_latin, numbered) for w in latin):
                fits.append(button)
        return fits[0] if len(fits) == 1 else None


def is_question(text: str) -> bool:
    """Asked, not answered: a question mark, or a question word without one ("how do
    i pay", "家庭区离厕所近吗")."""
    if "?" in text or "？" in text:
        return True
    return _QUESTION.search(normalise(text)) is not None


def match_button(text: str, offered: Sequence[Offered], words: TypedAnswers | None = None
                 ) -> Offered | None:  # fmt: skip
    """The one button of `offered` that typed `text` names, or None (see the module)."""
    if not offered or not text.strip() or text.lstrip().startswith("/"):
        return None
    reading = _Reading(text, offered, words or typed_answers())
    if not reading.text or reading.too_long():
        return None
    found = reading.whole_title()
    if found is not None:
        return found
    if reading.question():
        return None
    for step in (reading.position, reading.price, reading.action, reading.title_words):
        found = step()
        if found is not None:
            return found
    return None
