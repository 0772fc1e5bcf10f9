"""The channel's own texts (help, language choice, polite refusals), from
data/channels/telegram.yml, validated when the channel starts."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from core.settings import ROOT
from knowledge.language import Language

TEXTS_FILE = ROOT / "data" / "channels" / "telegram.yml"
KEYS = (
    "help",
    "language_prompt",
    "language_set",
    "unsupported",
    "edited",
    "expired_button",
    "unavailable",
    "broken",
)


class TextsError(ValueError):
    """The texts file is missing a text or a language (the message names both)."""


class Texts:
    """Every text in English and Chinese."""

    def __init__(self, texts: dict[str, dict[str, str]]) -> None:
        self._texts = texts

    def get(self, key: str, language: Language | str | None) -> str:
        """The text `key` in `language` (English when the language is unknown)."""
        versions = self._texts[key]
        return versions.get(str(language), versions["en"])


def load_texts(path: Path = TEXTS_FILE) -> Texts:
    """Read and check the texts file; raises `TextsError` naming the file and key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TextsError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise TextsError(f"{path}: expected a mapping of text names")
    texts: dict[str, dict[str, str]] = {}
    for key in KEYS:
        entry = raw.get(key)
        if not isinstance(entry, dict):
            raise TextsError(f"{path}: {key}: missing (needs en and zh)")
        for language in ("en", "zh"):
            value = entry.get(language)
            if not isinstance(value, str) or not value.strip():
                raise TextsError(f"{path}: {key}.{language}: missing or empty")
        texts[key] = {"en": entry["en"], "zh": entry["zh"]}
    return Texts(texts)


@lru_cache(maxsize=1)
def default_texts() -> Texts:
    """The texts of data/channels/telegram.yml (read once)."""
    return load_texts()
