"""The retriever's decision thresholds and score weights, stored as data.

`knowledge/thresholds.yml` is written by `desk knowledge calibrate` from the
calibration half of the labelled set; the retriever only reads it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.corpus import CorpusError


@dataclass(frozen=True)
class Fusion:
    """How the three scores of an entry combine into one.

    score = best question cosine + `answer_weight` x best answer-sentence cosine
            + `lexical_weight` x BM25 + `classifier_weight` x P(entry) from the entry
    classifier (0 when the index has none). The defaults are the first stage's,
    chosen by leave-one-out over the corpus's own paraphrases; with the classifier,
    `knowledge/thresholds.yml` sets its weight (chosen on the calibration half) and a
    BM25 weight of 0.05 (chosen by cross-validation over the corpus wordings). No test
    query was involved; see docs/faq.md.
    """

    answer_weight: float = 0.5
    lexical_weight: float = 0.02
    classifier_weight: float = 0.0


@dataclass(frozen=True)
class Thresholds:
    """Decision boundaries on the fused score.

    - `answer`: answer directly when the best score is at least this and it leads the
      runner-up by at least `margin`.
    - `suggest`: otherwise offer the top candidates when the best score is at least this.
    - below `suggest`: abstain (fallback or handoff).
    - `out_of_scope`: abstain whatever the scores when the entry classifier gives the
      message's out-of-scope class a probability above this (1.0: never). A question
      next to an entry's topic that the entry does not answer ("near miss") can score
      as high as a real one; the classifier, trained on such wordings
      (`knowledge/out_of_scope.yml`), tells them apart better than any score threshold.
    - `out_of_scope_unless`: a best score at which the classifier's doubt no longer
      counts (None: it counts at any score). The classifier errs too, on wordings unlike
      its training ones, and a question that close to an entry is rarely a near miss.
    """

    answer: float = 1.0
    margin: float = 0.05
    suggest: float = 0.8
    out_of_scope: float = 1.0
    out_of_scope_unless: float | None = None
    encoder: str = "use-multilingual-v3"
    fusion: Fusion = field(default_factory=Fusion)
    provenance: dict[str, Any] = field(default_factory=dict)

    def out_of_scope_abstains(self, score: float, out_of_scope: float) -> bool:
        """Whether the classifier's P(out of scope) makes a message with best `score` abstain."""
        if out_of_scope <= self.out_of_scope:
            return False
        return self.out_of_scope_unless is None or score < self.out_of_scope_unless

    def to_yaml(self) -> str:
        """The thresholds as a commented YAML document."""
        header = (
            "# Written by `desk knowledge calibrate`; do not edit by hand.\n"
            "# Scores are fused: question cosine + answer_weight x answer cosine"
            " + lexical_weight x BM25\n#   + classifier_weight x P(entry | text). Whatever the"
            " scores below out_of_scope_unless,\n#   the retriever abstains when"
            " P(out of scope | text) > out_of_scope.\n"
        )
        return header + yaml.safe_dump(asdict(self), sort_keys=False, allow_unicode=True)

    def save(self, path: Path) -> None:
        """Write the thresholds to `path`."""
        path.write_text(self.to_yaml(), encoding="utf-8")


def load_thresholds(path: Path) -> Thresholds:
    """Read thresholds written by the calibration; defaults when the file is missing.

    Raises:
        CorpusError: naming the file and field when the file is malformed.
    """
    if not path.exists():
        return Thresholds()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise CorpusError(str(path), "(yaml)", str(error)) from None
    if not isinstance(data, dict):
        raise CorpusError(str(path), "(root)", "expected a mapping")
    try:
        fusion = Fusion(**(data.pop("fusion", None) or {}))
        thresholds = Thresholds(fusion=fusion, **data)
    except TypeError as error:
        raise CorpusError(str(path), "(fields)", str(error)) from None
    for name in ("answer", "margin", "suggest", "out_of_scope"):
        if not isinstance(getattr(thresholds, name), int | float):
            raise CorpusError(str(path), name, "must be a number")
    unless = thresholds.out_of_scope_unless
    if unless is not None and not isinstance(unless, int | float):
        raise CorpusError(str(path), "out_of_scope_unless", "must be a number or null")
    if not 0.0 <= thresholds.out_of_scope <= 1.0:
        raise CorpusError(str(path), "out_of_scope", "must be a probability between 0 and 1")
    return thresholds
