"""The router policy: `data/handoff/routing.yml`, loaded and validated at start-up.

Everything the router and the queue decide by (thresholds, keyword lists, reason and
profile priorities, presence window, the fan-facing texts) lives in that file, so a
support lead tunes handoff by editing data that is reviewed like code. A mistake stops
the gateway with a `PolicyError` naming the file and line.
"""

from __future__ import annotations

import re
import string
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.settings import ROOT
from knowledge.language import LANGUAGES, Language

POLICY_PATH = ROOT / "data" / "handoff" / "routing.yml"
PLACEHOLDERS = frozenset({"position", "ahead", "minutes", "agent"})
MESSAGE_KEYS = (
    "queued",
    "no_agent",
    "leave_message_button",
    "continue_button",
    "leave_message_prompt",
    "callback_saved",
    "continue",
    "agent_joined",
    "handed_back",
    "closed",
)


class PolicyError(ValueError):
    """The routing file is missing, not YAML, or does not validate."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    intent_confidence: float = Field(ge=0, le=1)
    miss_strikes: int = Field(ge=2, le=10)  # never on the first unclear turn
    out_of_scope_confidence: float = Field(ge=0, le=1)
    negative_sentiment: float = Field(ge=-1, le=0)


class Misses(_Strict):
    """What makes a turn one the desk could not place."""

    intents: list[str] = Field(default_factory=list)
    signals: list[str] = Field(default_factory=list)


class PerLanguage(_Strict):
    en: list[str] = Field(default_factory=list)
    zh: list[str] = Field(default_factory=list)

    def of(self, language: Language) -> list[str]:
        """The entries for one language."""
        return self.en if language == "en" else self.zh


class ExplicitRequest(_Strict):
    commands: list[str] = Field(min_length=1)
    keywords: PerLanguage
    intents: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _commands_are_slash_words(self) -> ExplicitRequest:
        for command in self.commands:
            if not re.fullmatch(r"/\S+", command):
                raise ValueError(f"command {command!r} must be a slash and a word, like /human")
        return self


class Frustration(_Strict):
    keywords: PerLanguage


class Profile(_Strict):
    priority: int = Field(ge=0, le=100)


class Priorities(_Strict):
    default: int = Field(ge=0, le=100)
    reasons: dict[str, int] = Field(default_factory=dict)


class QueuePolicy(_Strict):
    presence_timeout_s: float = Field(gt=0)
    recent_pickups: int = Field(ge=1, le=1000)
    default_pickup_s: float = Field(gt=0)


class Text(_Strict):
    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)

    @model_validator(mode="after")
    def _known_placeholders(self) -> Text:
        for text in (self.en, self.zh):
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            unknown = names - PLACEHOLDERS
            if unknown:
                raise ValueError(f"unknown placeholder(s) {sorted(unknown)} in {text!r}")
        return self

    def of(self, language: str) -> str:
        """The text in `language` (English for anything else)."""
        return self.zh if language == "zh" else self.en


class Policy(_Strict):
    """The validated routing file."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    version: int = Field(ge=1, le=1)
    thresholds: Thresholds
    explicit_request: ExplicitRequest
    frustration: Frustration
    dialogue_reasons: list[str] = Field(default_factory=list)
    misses: Misses
    task_slots: list[str] = Field(default_factory=list)
    priorities: Priorities
    profiles: dict[str, Profile] = Field(default_factory=dict)
    profile_intents: dict[str, str] = Field(default_factory=dict)
    queue: QueuePolicy
    messages: dict[str, Text]

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        missing = [key for key in MESSAGE_KEYS if key not in self.messages]
        if missing:
            raise ValueError(f"messages: missing {missing}")
        for intent, profile in self.profile_intents.items():
            if profile not in self.profiles:
                raise ValueError(f"profile_intents.{intent}: unknown profile {profile!r}")
        return self

    def text(self, key: str, language: str, **values: object) -> str:
        """A fan-facing message in the conversation's language, placeholders filled."""
        return self.messages[key].of(language).format(**values)

    def priority_of(self, reason: str, profile: str | None) -> int:
        """Queue priority: the larger of the reason's and the profile's."""
        base = self.priorities.reasons.get(reason, self.priorities.default)
        if profile is not None and profile in self.profiles:
            return max(base, self.profiles[profile].priority)
        return base

    @cached_property
    def keyword_patterns(self) -> dict[Language, re.Pattern[str] | None]:
        """One regex per language for the explicit-request keywords."""
        return {lang: _words(self.explicit_request.keywords.of(lang)) for lang in LANGUAGES}

    @cached_property
    def abuse_patterns(self) -> dict[Language, re.Pattern[str] | None]:
        """One regex per language for the frustration keywords."""
        return {lang: _words(self.frustration.keywords.of(lang)) for lang in LANGUAGES}


def _words(phrases: list[str]) -> re.Pattern[str] | None:
    """Whole-word matching for Latin phrases; substring matching for Han ones."""
    if not phrases:
        return None
    parts = []
    for phrase in sorted(phrases, key=len, reverse=True):
        escaped = re.escape(phrase.strip())
        parts.append(escaped if not phrase.isascii() else rf"(?<![\w]){escaped}(?![\w])")
    return re.compile("|".join(parts), re.IGNORECASE)


def _line_of(node: yaml.Node | None, location: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at `location` (or of its nearest parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if getattr(k, "value", None) == str(part)]
            if not found:
                break
            node = found[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def parse_policy(text: str, source: str = "routing.yml") -> Policy:
    """Validate the YAML text of a routing file."""
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise PolicyError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{source}:1: expected a mapping at the top level")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = tuple(first.get("loc", ()))
        line = _line_of(tree, location)
        path = ".".join(str(p) for p in location) or "(top level)"
        raise PolicyError(f"{source}:{line or 1}: {path}: {first.get('msg')}") from exc


def load_policy(path: Path = POLICY_PATH) -> Policy:
    """Read and validate the routing file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the handoff routing policy: {exc}") from exc
    return parse_policy(text, str(path))
