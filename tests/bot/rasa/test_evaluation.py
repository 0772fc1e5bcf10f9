"""Held-out NLU scores against the thresholds of issue 4."""

from __future__ import annotations

from bot.rasa.evaluation import Scores, threshold_failures


def scores(en: float, zh: float) -> dict[str, Scores]:
    return {
        "en": Scores("en", 400, en, en),
        "zh": Scores("zh", 350, zh, zh),
    }


def test_scores_at_or_above_every_threshold_pass() -> None:
    assert threshold_failures(scores(0.95, 0.92), 0.90) == []


def test_each_missed_threshold_is_named() -> None:
    failures = threshold_failures(scores(0.94, 0.93), 0.85)
    assert failures == ["en intent macro-F1 0.940 < 0.95", "entity F1 0.850 < 0.9"]


def test_a_report_only_threshold_is_not_a_failure_but_the_others_still_are() -> None:
    assert threshold_failures(scores(0.90, 0.93), 0.91, report_only=frozenset({"en"})) == []
    assert threshold_failures(scores(0.90, 0.91), 0.91, report_only=frozenset({"en"})) == [
        "zh intent macro-F1 0.910 < 0.92"
    ]


def test_a_language_missing_from_the_results_scores_zero() -> None:
    only_en = {"en": Scores("en", 10, 1.0, 1.0)}
    assert threshold_failures(only_en, 1.0) == ["zh intent macro-F1 0.000 < 0.92"]
