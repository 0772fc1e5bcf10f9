"""The words fans use for seating categories, stands and matches (data/dialogue/vocabulary.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

VOCABULARY_FILE = Path(__file__).resolve().parent.parent / "data" / "dialogue" / "vocabulary.yml"


class VocabularyError(ValueError):
    """The vocabulary file is malformed; the message names the file and the key."""


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold().replace("-", " ")).strip()


@dataclass(frozen=True)
class Vocabulary:
    """Synonym tables: phrase → category key, stand code, or opponent team id."""

    categories: dict[str, tuple[str, ...]]
    stands: dict[str, tuple[str, ...]]
    fixtures: dict[str, tuple[str, ...]]

    @staticmethod
    def _find(table: dict[str, tuple[str, ...]], text: str) -> str | None:
        wanted = _normalise(text)
        if not wanted:
            return None
        if wanted in (_normalise(key) for key in table):
            return next(key for key in table if _normalise(key) == wanted)
        best: tuple[int, str] | None = None
        for key, phrases in table.items():
            for phrase in phrases:
                norm = _normalise(phrase)
                ascii_phrase = norm.isascii()
                found = (
                    re.search(rf"(?<![a-z0-9]){re.escape(norm)}(?![a-z0-9])", wanted)
                    if ascii_phrase
                    else norm in wanted
                )
                if found and (best is None or len(norm) > best[0]):
                    best = (len(norm), key)
        return best[1] if best else None

    def category(self, text: str) -> str | None:
        """The seating category a phrase names ("cat 1", "一等座" → "cat1")."""
        return self._find(self.categories, text)

    def stand(self, text: str) -> str | None:
        """The stand code a phrase names ("north stand", "北看台" → "N")."""
        return self._find(self.stands, text)

    def fixture_team(self, text: str) -> str | None:
        """The opponent a match nickname stands for ("the derby" → "harbour-city")."""
        return self._find(self.fixtures, text)


def read_vocabulary(path: Path = VOCABULARY_FILE) -> Vocabulary:
    """Load and check the vocabulary file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise VocabularyError(f"{path}: not valid YAML: {exc}") from exc
    tables: dict[str, dict[str, tuple[str, ...]]] = {}
    for name in ("categories", "stands", "fixtures"):
        table = raw.get(name)
        if not isinstance(table, dict):
            raise VocabularyError(f"{path}: {name}: expected a mapping of key to phrases")
        for key, phrases in table.items():
            if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
                raise VocabularyError(f"{path}: {name}.{key}: expected a list of phrases")
        tables[name] = {str(k): tuple(v) for k, v in table.items()}
    return Vocabulary(**tables)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The shipped vocabulary (read once)."""
    return read_vocabulary()
