"""Calibrating the retriever's thresholds on labelled queries, and the split that keeps
the test half out of it.

The labelled set (`bench/data/faq_labels.jsonl`) is the blind test set with entry ids
added; negatives have `"entry": null`. It is split 50/50 by a hash of the text: the
calibration half sets the thresholds, the test half is only ever scored by
`bench/faq.py`.

The corpus was extended from the calibration half's errors, so its answerable queries
are no longer unseen and would make `answer`/`margin` optimistic. `held_out_wordings`
stands in for unseen questions: corpus paraphrases asked of an index (and classifier)
built without them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

from knowledge.config import KnowledgeConfig
from knowledge.corpus import CorpusError, Entry
from knowledge.encoders import Encoder
from knowledge.index import FaqIndex
from knowledge.language import Language
from knowledge.retriever import Candidate, Retriever
from knowledge.thresholds import Fusion, Thresholds

Split = Literal["calibration", "test"]
# Share of calibration negatives that must abstain. 0.95 while the calibration half's ~60
# easy negatives were all there was (one negative was 1.6 points); with the near-miss
# negatives of `calibration_paths` (159 in all, most of them hard) 0.93: the 0.90
# target plus about one standard error (2.4 points at 159) for unseen questions.
TARGET_REJECTION: Final = 0.93
# Utility of each outcome: a wrong direct answer costs more than a useless suggestion.
_GAIN_RIGHT_ANSWER: Final = 1.0
_GAIN_RIGHT_SUGGESTION: Final = 0.6
_COST_WRONG_ANSWER: Final = 3.0
_COST_NEGATIVE_SUGGESTED: Final = 1.0
# Held-out wordings: a quarter of each entry's paraphrases per fold (by a hash of the text).
HELD_OUT_PARTS: Final = 4
HELD_OUT_FOLDS: Final = 2
# Limits tried for P(out of scope): above it the retriever abstains (1.0: never) ...
OUT_OF_SCOPE_LIMITS: Final = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05)
# ... unless the best fused score reaches this (None: at any score).
OUT_OF_SCOPE_UNLESS: Final = (2.5, 2.75, 3.0, 3.25, None)


def _part(text: str, parts: int) -> int:
    """Which of `parts` parts a text falls in, fixed by a hash of the text."""
    return int(hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest(), 16) % parts


@dataclass(frozen=True)
class LabelledQuery:
    """A test query with the entry that answers it (None: the corpus does not)."""

    text: str
    language: Language
    entry: str | None
    also: tuple[str, ...] = ()
    whole: Split | None = None  # from a file written for one split: all its rows are in it

    @property
    def answerable(self) -> bool:
        """Whether an entry answers it."""
        return self.entry is not None

    @property
    def accepted(self) -> frozenset[str]:
        """The ids that count as right (the label plus equally complete entries)."""
        return frozenset((self.entry, *self.also)) if self.entry else frozenset()

    @property
    def split(self) -> Split:
        """Calibration or test half, fixed by a hash of the text (or by its file)."""
        if self.whole is not None:
            return self.whole
        return "calibration" if _part(self.text, 2) == 0 else "test"


def load_labelled(
    path: Path, split: Split | None = None, *, whole: Split | None = None
) -> list[LabelledQuery]:
    """Labelled queries from a JSON-lines file, optionally one split only.

    `whole` puts every row of the file in that split (a file written for calibration
    only, or for testing only), instead of halving it by hash.

    Raises:
        CorpusError: naming the file and line for malformed rows.
    """
    rows: list[LabelledQuery] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            row = LabelledQuery(
                text=data["text"],
                language=data["language"],
                entry=data.get("entry"),
                also=tuple(data.get("also") or ()),
                whole=whole,
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise CorpusError(f"{path}:{number}", "(row)", str(error)) from None
        if split is None or row.split == split:
            rows.append(row)
    return rows


@dataclass(frozen=True)
class Scored:
    """A labelled query with its ranked candidates (computed once, reused in the grid)."""

    query: LabelledQuery
    ranked: tuple[Candidate, ...]

    @property
    def first(self) -> float:
        """Best fused score (0 with no candidate)."""
        return self.ranked[0].score if self.ranked else 0.0

    @property
    def out_of_scope(self) -> float:
        """P(out of scope | text) from the entry classifier (0 without one)."""
        return self.ranked[0].out_of_scope if self.ranked else 0.0

    @property
    def gap(self) -> float:
        """Lead of the best candidate over the runner-up."""
        if len(self.ranked) < 2:
            return self.first
        return self.ranked[0].score - self.ranked[1].score

    @property
    def top1_right(self) -> bool:
        """Whether the best candidate is an accepted entry."""
        return bool(self.ranked) and self.ranked[0].entry_id in self.query.accepted

    @property
    def top3_right(self) -> bool:
        """Whether an accepted entry is among the top 3."""
        return any(c.entry_id in self.query.accepted for c in self.ranked[:3])


def score_queries(retriever: Retriever, queries: Sequence[LabelledQuery]) -> list[Scored]:
    """Rank every query once."""
    return [Scored(q, tuple(retriever.rank(q.text, q.language)[1][:10])) for q in queries]


def held_out_wordings(
    entries: Iterable[Entry],
    encoder: Encoder,
    fusion: Fusion,
    config: KnowledgeConfig,
    folds: int = HELD_OUT_FOLDS,
    parts: int = HELD_OUT_PARTS,
) -> list[Scored]:
    """Corpus paraphrases scored as unseen questions (cross-validation over the corpus).

    For each of `folds` folds, one `parts`-th of every entry's paraphrases (chosen by a
    hash of the text) is left out, an index with its classifier is built from the rest,
    and each left-out wording is ranked, labelled with its own entry.
    """
    entries = list(entries)
    out: list[Scored] = []
    for fold in range(min(folds, parts)):
        kept: list[Entry] = []
        asked: list[LabelledQuery] = []
        for entry in entries:
            paraphrases: dict[Language, tuple[str, ...]] = {}
            for language, texts in entry.paraphrases.items():
                paraphrases[language] = tuple(t for t in texts if _part(t, parts) != fold)
                asked.extend(
                    LabelledQuery(t, language, entry.id) for t in texts if _part(t, parts) == fold
                )
            kept.append(replace(entry, paraphrases=paraphrases))
        index = FaqIndex.build(kept, encoder, kind="flat")
        retriever = Retriever(index, Thresholds(fusion=fusion), config, persist=False)
        out.extend(score_queries(retriever, asked))
    return out


def outcome(scored: Scored, limits: Thresholds) -> str:
    """The decision for one scored query under `limits`: answer, suggest or abstain."""
    if limits.out_of_scope_abstains(scored.first, scored.out_of_scope):
        return "abstain"
    if scored.first >= limits.answer and scored.gap >= limits.margin:
        return "answer"
    return "suggest" if scored.first >= limits.suggest else "abstain"


class _Utility:
    """The calibration utility of scored queries under any thresholds (vectorised)."""

    def __init__(self, scored: Sequence[Scored], positive_weight: float = 1.0) -> None:
        self.first = np.array([s.first for s in scored])
        self.gap = np.array([s.gap for s in scored])
        self.out_of_scope = np.array([s.out_of_scope for s in scored])
        self.answerable = np.array([s.query.answerable for s in scored], dtype=bool)
        self.top1 = np.array([s.top1_right for s in scored], dtype=bool)
        self.top3 = np.array([s.top3_right for s in scored], dtype=bool)
        self.weight = np.where(self.answerable, positive_weight, 1.0)

    def __call__(self, limits: Thresholds) -> float:
        kept = self.out_of_scope <= limits.out_of_scope
        if limits.out_of_scope_unless is not None:
            kept |= self.first >= limits.out_of_scope_unless
        answered = kept & (self.first >= limits.answer) & (self.gap >= limits.margin)
        suggested = kept & ~answered & (self.first >= limits.suggest)
        positive, negative = self.answerable, ~self.answerable
        gain = (
            np.where(positive & answered & self.top1, _GAIN_RIGHT_ANSWER, 0.0)
            - np.where(positive & answered & ~self.top1, _COST_WRONG_ANSWER, 0.0)
            + np.where(positive & suggested & self.top3, _GAIN_RIGHT_SUGGESTION, 0.0)
            - np.where(negative & answered, _COST_WRONG_ANSWER, 0.0)
            - np.where(negative & suggested, _COST_NEGATIVE_SUGGESTED, 0.0)
        )
        return float((self.weight * gain).sum())


def calibrate(
    scored: Sequence[Scored],
    encoder: str,
    base: Thresholds | None = None,
    target_rejection: float = TARGET_REJECTION,
    held_out: Sequence[Scored] = (),
) -> Thresholds:
    """Choose thresholds on scored calibration queries.

    1. The out-of-scope limit (`out_of_scope`, `out_of_scope_unless`) and `suggest`:
       for each pair of the grid, `suggest` is the lowest score at which at least
       `target_rejection` of the negatives abstain (those the limit rejects count);
       the pair kept is the one under which most *blind* answerable questions (those
       of files written for calibration, `whole`; else all of them) keep their entry
       among the candidates shown (ties: the better utility, below). Real fans'
       questions, not corpus wordings: held-out wordings have siblings in the
       classifier's training data, so their P(out of scope) is lower than real
       questions' and the limit would look free.
    2. `answer` and `margin` maximise a utility where a wrong direct answer costs three
       right ones and a right suggestion is worth 0.6 of a right answer. With `held_out`
       (see `held_out_wordings`), those stand for the answerable questions in the
       utility instead of the calibration queries', weighted to the same total.
    """
    base = base or Thresholds()
    negatives = [s for s in scored if not s.query.answerable]
    positives = [s for s in scored if s.query.answerable]
    if not negatives or not positives:
        raise ValueError("calibration needs both answerable and unanswerable queries")
    blind = [s for s in positives if s.query.whole == "calibration"] or positives
    pool: list[Scored] = list(scored)
    weight = 1.0
    if held_out:
        pool = negatives + list(held_out)
        weight = len(positives) / len(held_out)
    utility_of = _Utility(pool, weight)
    trials: list[tuple[float, Thresholds]] = []
    for limit in OUT_OF_SCOPE_LIMITS:
        for unless in OUT_OF_SCOPE_UNLESS:
            trial = Thresholds(out_of_scope=limit, out_of_scope_unless=unless)
            trial = replace(
                trial, suggest=_suggest_for(negatives, trial, target_rejection), answer=math.inf
            )
            kept = sum(s.top3_right and outcome(s, trial) != "abstain" for s in blind) / len(blind)
            trials.append((kept, trial))
    kept_best = max(kept for kept, _ in trials)
    best: Thresholds | None = None
    best_utility = float("-inf")
    tried: set[tuple[float, tuple[bool, ...]]] = set()
    for kept, trial in trials:
        if kept < kept_best - 1e-9:
            continue  # the utility only breaks ties between limits that keep as many
        # Limits that reject the same queries at the same `suggest` score the same.
        effect = tuple(trial.out_of_scope_abstains(s.first, s.out_of_scope) for s in pool)
        if (trial.suggest, effect) in tried:
            continue
        tried.add((trial.suggest, effect))
        tops = sorted({round(s.first, 3) for s in pool if s.first >= trial.suggest})
        for answer in [trial.suggest, *tops]:
            for margin in np.arange(0.0, 1.01, 0.01):  # fused scores reach ~3
                limits = replace(trial, answer=answer, margin=float(margin))
                utility = utility_of(limits)
                if utility > best_utility + 1e-9:
                    best_utility, best = utility, limits
    assert best is not None
    chosen = Thresholds(
        answer=round(best.answer, 4),
        margin=round(best.margin, 3),
        suggest=round(best.suggest, 4),
        out_of_scope=best.out_of_scope,
        out_of_scope_unless=best.out_of_scope_unless,
        encoder=encoder,
        fusion=base.fusion,
    )
    provenance = summary(scored, chosen) | {"calibrated_on": dt.date.today().isoformat()}
    provenance["blind_answerable_kept"] = round(kept_best, 3)
    if held_out:
        rows = summary(held_out, chosen)
        provenance["held_out_wordings"] = {
            key: rows[key]
            for key in ("answerable", "top1", "top3", "answered", "answered_wrong", "suggested")
        }
    return replace(chosen, provenance=provenance)


def _suggest_for(negatives: Sequence[Scored], limits: Thresholds, target_rejection: float) -> float:
    """The lowest `suggest` at which `target_rejection` of the negatives abstain, given
    that those the out-of-scope limit of `limits` rejects abstain anyway."""
    kept = np.array(
        [s.first for s in negatives if not limits.out_of_scope_abstains(s.first, s.out_of_scope)]
    )
    needed = target_rejection * len(negatives) - (len(negatives) - len(kept))
    if not len(kept) or needed <= 0:
        return float(min(s.first for s in negatives))  # the limit alone rejects enough
    share = min(1.0, needed / len(kept))
    return float(np.quantile(kept, share)) + 1e-4


def summary(scored: Sequence[Scored], limits: Thresholds) -> dict[str, Any]:
    """Accuracy and decision rates of scored queries under `limits`."""
    positives = [s for s in scored if s.query.answerable]
    negatives = [s for s in scored if not s.query.answerable]
    decisions = [outcome(s, limits) for s in positives]

    def rate(count: int, total: int) -> float:
        return round(count / total, 3) if total else 0.0

    return {
        "split": sorted({s.query.split for s in scored}),
        "answerable": len(positives),
        "negatives": len(negatives),
        "top1": rate(sum(s.top1_right for s in positives), len(positives)),
        "top3": rate(sum(s.top3_right for s in positives), len(positives)),
        "answered": rate(decisions.count("answer"), len(positives)),
        "answered_right": rate(
            sum(d == "answer" and s.top1_right for d, s in zip(decisions, positives, strict=True)),
            len(positives),
        ),
        "answered_wrong": rate(
            sum(
                d == "answer" and not s.top1_right
                for d, s in zip(decisions, positives, strict=True)
            ),
            len(positives),
        ),
        "suggested": rate(decisions.count("suggest"), len(positives)),
        "negatives_rejected": rate(
            sum(outcome(s, limits) == "abstain" for s in negatives), len(negatives)
        ),
        "negatives_answered": rate(
            sum(outcome(s, limits) == "answer" for s in negatives), len(negatives)
        ),
    }
