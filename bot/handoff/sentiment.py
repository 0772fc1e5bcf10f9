"""Frustration: abuse words (English and Chinese, from the routing policy) and VADER's
negative sentiment for English. No packaged sentiment model reads Chinese reliably
(see ENVIRONMENT.md), so Chinese relies on the policy's lexicon."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.handoff.policy import Policy
from knowledge.language import Language


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """VADER's compound sentiment of an English text, -1 (negative) to 1."""
    return float(_vader().polarity_scores(text)["compound"])


@dataclass(frozen=True)
class Frustration:
    """Why a message reads as frustrated (`None` fields when it does not)."""

    keyword: str | None
    sentiment: float | None

    @property
    def detail(self) -> str:
        """A short explanation recorded with the escalation."""
        if self.keyword is not None:
            return f"keyword {self.keyword!r}"
        return f"sentiment {self.sentiment:.2f}"


def frustration(policy: Policy, text: str, language: Language) -> Frustration | None:
    """A `Frustration` when the text is abusive or strongly negative, else None."""
    for lang in (language, "en" if language == "zh" else "zh"):
        pattern = policy.abuse_patterns[lang]
        match = pattern.search(text) if pattern is not None else None
        if match:
            return Frustration(match.group(0), None)
    if language == "en":
        score = compound(text)
        if score <= policy.thresholds.negative_sentiment:
            return Frustration(None, score)
    return None
