"""Scoring the NLU model on the held-out split, per language, against thresholds."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.language import detect_language


@dataclass(frozen=True)
class Scores:
    """Intent macro-F1 and accuracy for one language."""

    language: str
    examples: int
    accuracy: float
    macro_f1: float


def _macro_f1(pairs: list[tuple[str, str]]) -> float:
    labels = {gold for gold, _ in pairs}
    f1s = []
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


def intent_scores(results_dir: Path) -> dict[str, Scores]:
    """Per-language scores from `rasa test nlu --successes --errors` output files."""
    rows: list[dict[str, Any]] = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = results_dir / name
        if path.exists():
            rows.extend(json.loads(path.read_text(encoding="utf-8")))
    by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        predicted = (row.get("intent_prediction") or {}).get("name") or "nlu_fallback"
        pair = (str(row["intent"]), str(predicted))
        by_language[detect_language(str(row["text"]))].append(pair)
        by_language["all"].append(pair)
    return {
        language: Scores(
            language=language,
            examples=len(pairs),
            accuracy=sum(g == p for g, p in pairs) / len(pairs),
            macro_f1=_macro_f1(pairs),
        )
        for language, pairs in by_language.items()
    }


THRESHOLDS: dict[str, float] = {"en": 0.95, "zh": 0.92, "entity": 0.90}


def threshold_failures(
    scores: dict[str, Scores],
    entities: float,
    thresholds: dict[str, float] = THRESHOLDS,
    report_only: frozenset[str] = frozenset(),
) -> list[str]:
    """The enforced thresholds a result misses (`report_only` names are only reported)."""
    measured = {lang: scores[lang].macro_f1 if lang in scores else 0.0 for lang in ("en", "zh")}
    measured["entity"] = entities
    labels = {"en": "en intent macro-F1", "zh": "zh intent macro-F1", "entity": "entity F1"}
    return [
        f"{labels[name]} {measured[name]:.3f} < {threshold}"
        for name, threshold in thresholds.items()
        if name not in report_only and measured[name] < threshold
    ]


def entity_f1(results_dir: Path) -> float:
    """Micro-averaged entity F1 of the entity extractor's report (0 when absent)."""
    for path in sorted(results_dir.glob("*Classifier_report.json")) + sorted(
        results_dir.glob("*Extractor_report.json")
    ):
        report = json.loads(path.read_text(encoding="utf-8"))
        average = report.get("micro avg") or report.get("weighted avg") or {}
        return float(average.get("f1-score", 0.0))
    return 0.0
