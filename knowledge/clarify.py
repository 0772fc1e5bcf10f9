"""What the desk asks when a fan's message is about its domain but not placed.

A message the domain detector keeps (components/domain.py) that no intent and no
FAQ entry takes is never declined: the fan gets the likely topics (the NLU's
best in-domain intents) and the closest FAQ questions as buttons, and a person.
Triage (`route: "clarify"`) and the dialogue (actions/answers.py) send the same
choices; the button titles live in data/dialogue/clarify.yml.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.language import Language

CLARIFY_FILE = Path(__file__).resolve().parent.parent / "data" / "dialogue" / "clarify.yml"
# How sure the NLU must be of an intent before it is offered as a topic.
MIN_TOPIC_CONFIDENCE = 0.02


def ranked(intent_ranking: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, float]]:
    """An NLU parse's `intent_ranking` as (intent, confidence) pairs, best first."""
    return [(str(r.get("name")), float(r.get("confidence") or 0.0)) for r in intent_ranking or []]


class ClarifyError(ValueError):
    """data/dialogue/clarify.yml is malformed; the message names the file and key."""


@dataclass(frozen=True)
class Choice:
    """One button: what the fan reads and what pressing it sends."""

    title: str
    payload: str


@dataclass(frozen=True)
class Choices:
    """The buttons of a clarifying reply (data/dialogue/clarify.yml)."""

    topics: dict[str, dict[str, str]]
    person: dict[str, str]
    max_topics: int
    max_questions: int

    def likely(self, ranking: Sequence[tuple[str, float]]) -> str | None:
        """The intent of the first topic button `offer` would make (None: no topic)."""
        return next((i for i, c in ranking if i in self.topics and c >= MIN_TOPIC_CONFIDENCE), None)

    def offer(
        self,
        ranking: Sequence[tuple[str, float]],
        questions: Sequence[tuple[str, str]],
        language: Language,
    ) -> list[Choice]:
        """Buttons for an NLU intent ranking and the closest FAQ (entry id, question)."""
        buttons: list[Choice] = []
        for intent, confidence in ranking:
            if len(buttons) == self.max_topics:
                break
            titles = self.topics.get(intent)
            if titles and confidence >= MIN_TOPIC_CONFIDENCE:
                buttons.append(Choice(titles.get(language) or titles["en"], f"/{intent}"))
        for entry_id, question in list(questions)[: self.max_questions]:
            buttons.append(Choice(question, f'/faq_other{{"faq_id":"{entry_id}"}}'))
        buttons.append(Choice(self.person.get(language) or self.person["en"], "/talk_to_human"))
        return buttons


def _titles(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not isinstance(value.get("en"), str):
        raise ClarifyError(f"{CLARIFY_FILE}: {where} needs an `en` title (and `zh`)")
    return {str(k): str(v) for k, v in value.items()}


@lru_cache(maxsize=1)
def choices(path: Path = CLARIFY_FILE) -> Choices:
    """The clarifying reply's buttons, read once per process."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    topics = data.get("topics")
    if not isinstance(topics, dict) or not topics:
        raise ClarifyError(f"{path}: `topics` must map intents to titles")
    return Choices(
        topics={str(k): _titles(v, f"topics.{k}") for k, v in topics.items()},
        person=_titles(data.get("person"), "person"),
        max_topics=int(data.get("max_topics", 3)),
        max_questions=int(data.get("max_questions", 2)),
    )
