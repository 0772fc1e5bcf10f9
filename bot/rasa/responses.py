"""Picking a response text from the Rasa domain in the fan's language."""

from __future__ import annotations

from typing import Any


def response_text(domain: dict[str, Any], name: str, language: str) -> str | None:
    """The text of response `name` for `language` (variants conditioned on the slot)."""
    variants = (domain.get("responses") or {}).get(name) or []
    fallback: str | None = None
    for variant in variants:
        conditions = variant.get("condition") or []
        text = variant.get("text")
        if not text:
            continue
        wanted = [c for c in conditions if c.get("name") == "language"]
        if wanted and wanted[0].get("value") == language:
            return str(text)
        if not conditions and fallback is None:
            fallback = str(text)
    return fallback
