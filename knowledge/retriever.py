"""Answering a fan's question from the FAQ: answer, suggest or abstain.

The retriever scores candidate entries three ways (closest question or paraphrase,
closest answer sentence, BM25 words), fuses the scores with weights stored beside
the thresholds, and decides:

- `answer`: the best entry is above the calibrated threshold and clearly ahead;
- `suggest`: a grey zone: offer the top 3 distinct entries ("Did you mean ...?");
- `abstain`: nothing close enough: the caller routes to fallback or a human.

It is framework-free: the Rasa action and the triage route call `search`; the
learning loop calls `upsert`/`remove` with entries published in the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from knowledge.config import KnowledgeConfig, load_config
from knowledge.corpus import Entry
from knowledge.encoders import Encoder, load_encoder
from knowledge.index import FaqIndex, IndexMismatch, manifest_stamp, read_manifest
from knowledge.language import Language, detect_language
from knowledge.lexical import LexicalIndex
from knowledge.script import to_simplified
from knowledge.text import clean, has_content
from knowledge.thresholds import Thresholds, load_thresholds
from knowledge.topics import Topic

Decision = Literal["answer", "suggest", "abstain"]
Reason = Literal[
    "confident",
    "close_runner_up",
    "grey_zone",
    "low_score",
    "out_of_scope",
    "no_content",
    "empty_index",
]
SUGGESTIONS: Final = 3
_ONLY_IN: Final[dict[tuple[Language, Language], str]] = {
    ("en", "zh"): "This answer is only available in Chinese for now.",
    ("zh", "en"): "这条答案目前只有英文版本。",
}


@dataclass(frozen=True)
class Candidate:
    """One ranked entry with its scores; `question` is in the fan's language when possible."""

    entry_id: str
    topic: Topic
    category: str
    question: str
    score: float
    question_score: float
    answer_score: float
    lexical_score: float
    classifier_score: float = 0.0
    out_of_scope: float = 0.0  # P(out of scope | the message): the same for every candidate


@dataclass(frozen=True)
class Answer:
    """The retriever's reply to one message.

    `text` is set only for `answer`; `candidates` holds up to 3 distinct entries, best
    first (the buttons for `suggest`). `note` says when the answer is in another
    language than the fan's.
    """

    decision: Decision
    reason: Reason
    language: Language
    candidates: tuple[Candidate, ...] = ()
    text: str | None = None
    answer_language: Language | None = None
    note: str | None = None

    @property
    def best(self) -> Candidate | None:
        """The top candidate, if any."""
        return self.candidates[0] if self.candidates else None

    @property
    def entry_id(self) -> str | None:
        """The answered entry's id (None unless the decision is `answer`)."""
        return self.candidates[0].entry_id if self.decision == "answer" else None

    @property
    def topic(self) -> Topic | None:
        """The answered entry's topic (None unless the decision is `answer`)."""
        return self.candidates[0].topic if self.decision == "answer" else None

    @property
    def score(self) -> float:
        """The best fused score (0 when there is no candidate)."""
        return self.candidates[0].score if self.candidates else 0.0


def _localised(texts: dict[Language, str], language: Language) -> tuple[str, Language]:
    if language in texts:
        return texts[language], language
    other: Language = "zh" if language == "en" else "en"
    return texts[other], other


class Retriever:
    """Searches a `FaqIndex`, decides with `Thresholds`, and follows index updates."""

    def __init__(
        self,
        index: FaqIndex,
        thresholds: Thresholds,
        config: KnowledgeConfig | None = None,
        *,
        persist: bool = True,
    ) -> None:
        """Serve `index`; with `persist`, `upsert`/`remove` save to `config.index`."""
        self.config = config or KnowledgeConfig()
        self.thresholds = thresholds
        self.persist = persist
        self._lock = threading.RLock()
        self._index = index
        self._lexical = LexicalIndex(index.entries.values())
        self._stamp = manifest_stamp(self.config.index)
        self._checked_at = time.monotonic()

    @classmethod
    def open(cls, config: KnowledgeConfig | None = None) -> Retriever:
        """Load the stored index (with the encoder it was built with) and the thresholds.

        Raises:
            IndexNotFound: when no index was built.
            IndexMismatch: when the thresholds were calibrated for another encoder.
        """
        config = config or load_config()
        manifest = read_manifest(config.index)
        thresholds = load_thresholds(config.thresholds)
        if thresholds.encoder != manifest.encoder:
            raise IndexMismatch(
                f"{config.thresholds} was calibrated for {thresholds.encoder}, the index uses "
                f"{manifest.encoder}: run `desk knowledge calibrate`"
            )
        encoder = load_encoder(manifest.encoder, **config.encoder_options)
        encoder.encode(["warm-up"])  # load lazy weights now, not on the first fan's question
        return cls(FaqIndex.load(config.index, encoder), thresholds, config)

    # ----- state ------------------------------------------------------------------

    @property
    def index(self) -> FaqIndex:
        """The index currently served."""
        return self._index

    @property
    def encoder(self) -> Encoder:
        """The encoder of the index currently served."""
        return self._index.encoder

    def entry(self, entry_id: str) -> Entry | None:
        """An indexed entry by id."""
        return self._index.entries.get(entry_id)

    def swap(self, index: FaqIndex) -> None:
        """Serve another index from now on (searches in flight finish on the old one)."""
        lexical = LexicalIndex(index.entries.values())
        with self._lock:
            self._index, self._lexical = index, lexical

    def reload_if_changed(self, *, force: bool = False) -> bool:
        """Load a newer index generation written by another process; True if swapped.

        Cheap: a `stat` of the manifest at most every `reload_interval_s` seconds (or
        every call with `force`). Call it before each search in long-running servers.
        """
        now = time.monotonic()
        if not force and now - self._checked_at < self.config.reload_interval_s:
            return False
        self._checked_at = now
        stamp = manifest_stamp(self.config.index)
        if stamp is None or stamp == self._stamp:
            return False
        manifest = read_manifest(self.config.index)
        self._stamp = stamp
        if manifest.generation == self._index.generation and manifest.encoder == self.encoder.name:
            return False
        encoder = self.encoder
        if manifest.encoder != encoder.name:
            encoder = load_encoder(manifest.encoder, **self.config.encoder_options)
        self.swap(FaqIndex.load(self.config.index, encoder))
        return True

    # ----- learning loop ------------------------------------------------------------

    def upsert(self, entries: Iterable[Entry]) -> list[str]:
        """Index new or changed entries at once (and save, so a restart keeps them)."""
        with self._lock:
            changed = self._index.upsert(entries)
            for entry_id in changed:
                self._lexical.upsert(self._index.entries[entry_id])
            if changed:
                self._save()
            return changed

    def remove(self, entry_ids: Iterable[str]) -> list[str]:
        """Stop answering with these entries (and save)."""
        with self._lock:
            removed = self._index.remove(entry_ids)
            for entry_id in removed:
                self._lexical.remove(entry_id)
            if removed:
                self._save()
            return removed

    def _save(self) -> None:
        if self.persist:
            self._index.save(self.config.index)
            self._stamp = manifest_stamp(self.config.index)

    # ----- searching ----------------------------------------------------------------

    def rank(self, text: str, language: Language | None = None) -> tuple[Language, list[Candidate]]:
        """The fan's language and every candidate entry, best first (no decision).

        The FAQ is written in simplified Chinese: a traditional question is read in
        simplified characters (門票 as 门票), so it finds what its simplified twin finds.
        """
        cleaned = to_simplified(clean(text, self.config.max_chars))
        fan: Language = language or detect_language(cleaned)
        if not has_content(cleaned):
            return fan, []
        with self._lock:
            index, lexical = self._index, self._lexical
        if not index.entries:
            return fan, []
        vector = index.encoder.encode([cleaned])
        lexical_scores = lexical.scores(cleaned)
        pool = dict.fromkeys(index.nearest_entries(vector, self.config.vector_candidates))
        best_lexical = sorted(lexical_scores, key=lexical_scores.__getitem__, reverse=True)
        pool.update(dict.fromkeys(best_lexical[: self.config.lexical_candidates]))
        fusion = self.thresholds.fusion
        classes: dict[str, float] = {}
        out_of_scope = 0.0
        if index.classifier is not None and fusion.classifier_weight:
            classes, out_of_scope = index.classifier.classify(vector, cleaned)
            likely = sorted(classes, key=classes.__getitem__, reverse=True)
            pool.update(dict.fromkeys(e for e in likely[: self.config.lexical_candidates]))
        out: list[Candidate] = []
        for entry_id, (question_score, answer_score) in index.dense_scores(vector, pool).items():
            entry = index.entries[entry_id]
            lexical_score = lexical_scores.get(entry_id, 0.0)
            classifier_score = classes.get(entry_id, 0.0)
            score = (
                question_score
                + fusion.answer_weight * answer_score
                + fusion.lexical_weight * lexical_score
                + fusion.classifier_weight * classifier_score
            )
            question, _ = _localised(dict(entry.question), fan)
            out.append(
                Candidate(
                    entry_id=entry_id,
                    topic=entry.topic,
                    category=entry.category,
                    question=question,
                    score=round(score, 4),
                    question_score=round(question_score, 4),
                    answer_score=round(answer_score, 4),
                    lexical_score=round(lexical_score, 4),
                    classifier_score=round(classifier_score, 4),
                    out_of_scope=round(out_of_scope, 4),
                )
            )
        out.sort(key=lambda candidate: candidate.score, reverse=True)
        return fan, out

    def decide(
        self, language: Language, ranked: Sequence[Candidate], k: int = SUGGESTIONS
    ) -> Answer:
        """Turn ranked candidates into an answer, a suggestion or an abstention."""
        top = tuple(ranked[: max(k, 1)])
        if not ranked:
            reason: Reason = "no_content" if self._index.entries else "empty_index"
            return Answer("abstain", reason, language)
        first = ranked[0].score
        second = ranked[1].score if len(ranked) > 1 else 0.0
        limits = self.thresholds
        if limits.out_of_scope_abstains(first, ranked[0].out_of_scope):
            return Answer("abstain", "out_of_scope", language, top)
        if first >= limits.answer and first - second >= limits.margin:
            entry = self._index.entries.get(ranked[0].entry_id)
            if entry is not None:
                text, answered_in = _localised(dict(entry.answer), language)
                note = _ONLY_IN.get((language, answered_in))
                return Answer("answer", "confident", language, top, text, answered_in, note)
        if first >= limits.suggest:
            reason = "close_runner_up" if first >= limits.answer else "grey_zone"
            return Answer("suggest", reason, language, top)
        return Answer("abstain", "low_score", language, top)

    def search(self, text: str, language: Language | None = None, k: int = SUGGESTIONS) -> Answer:
        """Answer `text` (any length, any characters: never raises on content).

        `language` is the fan's language when known (from the channel or profile);
        otherwise it is detected from the text. The answer is given in that language
        when the entry has it.
        """
        fan, ranked = self.rank(text, language)
        return self.decide(fan, ranked, k)
