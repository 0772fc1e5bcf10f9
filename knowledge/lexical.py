"""A BM25 word index over whole entries, the retriever's second opinion.

Sentence embeddings match meaning; exact terms (`A4`, `Alipay`, `W3`, `退票`) are
better caught by words. Each entry is one document: its questions, paraphrases,
answers and tags in both languages, so a term in an answer can find its entry.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from knowledge.corpus import Entry
from knowledge.language import LANGUAGES
from knowledge.text import terms

_K1 = 1.2
_B = 0.75


def entry_terms(entry: Entry) -> list[str]:
    """Every search term of an entry's text, in both languages."""
    parts: list[str] = [text for _, text in entry.texts()]
    parts.extend(entry.answer[lang] for lang in LANGUAGES if lang in entry.answer)
    parts.extend(entry.tags)
    return terms(" ".join(parts))


class LexicalIndex:
    """An in-memory BM25 inverted index keyed by entry id; entries can be added and removed."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        """Index `entries` (more can be added later with `upsert`)."""
        self._lengths: dict[str, int] = {}
        self._postings: dict[str, dict[str, int]] = {}
        self._terms: dict[str, tuple[str, ...]] = {}
        self._total = 0
        for entry in entries:
            self.upsert(entry)

    def __len__(self) -> int:
        return len(self._lengths)

    def upsert(self, entry: Entry) -> None:
        """Add an entry, replacing any earlier version with the same id."""
        self.remove(entry.id)
        counts = Counter(entry_terms(entry))
        for term, count in counts.items():
            self._postings.setdefault(term, {})[entry.id] = count
        length = sum(counts.values())
        self._lengths[entry.id] = length
        self._terms[entry.id] = tuple(counts)
        self._total += length

    def remove(self, entry_id: str) -> None:
        """Forget an entry (no-op when unknown)."""
        length = self._lengths.pop(entry_id, None)
        if length is None:
            return
        self._total -= length
        for term in self._terms.pop(entry_id, ()):
            del self._postings[term][entry_id]
            if not self._postings[term]:
                del self._postings[term]

    def scores(self, text: str) -> dict[str, float]:
        """BM25 score of every entry sharing a term with `text` (others score 0)."""
        count = len(self._lengths)
        if not count:
            return {}
        average = self._total / count
        out: dict[str, float] = {}
        for term in set(terms(text)):
            posting = self._postings.get(term)
            if not posting:
                continue
            idf = math.log(1 + (count - len(posting) + 0.5) / (len(posting) + 0.5))
            for entry_id, freq in posting.items():
                norm = _K1 * (1 - _B + _B * self._lengths[entry_id] / average)
                out[entry_id] = out.get(entry_id, 0.0) + idf * freq * (_K1 + 1) / (freq + norm)
        return out
