"""components/classifiers.py: the linear intent classifier, run inside the Rasa environment.

Rasa lives in its own environment (.venv-rasa), so the checks run in
`classifier_probe.py` there and are asserted here on its JSON output.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.rasa.environment import RASA_BIN

PROBE = Path(__file__).with_name("classifier_probe.py")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("linear-classifier")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [str(RASA_BIN.parent / "python"), str(PROBE), str(workdir)],
        capture_output=True, text=True, env=env, check=True, timeout=300,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


EXPECTED = ["refund", "stadium_entry", "greet", "refund"]


def test_predicts_unseen_paraphrases_in_both_languages(probe: dict[str, Any]) -> None:
    assert [ranking[0]["name"] for ranking in probe["fresh"]] == EXPECTED
    assert all(ranking[0]["confidence"] > 0.5 for ranking in probe["fresh"])


def test_ranking_is_sorted_probabilities_cut_to_ranking_length(probe: dict[str, Any]) -> None:
    for ranking in probe["fresh"]:
        confidences = [r["confidence"] for r in ranking]
        assert len(ranking) == 2
        assert confidences == sorted(confidences, reverse=True)
        assert 0.0 < sum(confidences) <= 1.0 + 1e-9
        assert len({r["name"] for r in ranking}) == 2


def test_persisted_model_gives_the_same_ranking(probe: dict[str, Any]) -> None:
    assert probe["reloaded"] == probe["fresh"]
    # ... from weights laid out for prediction (no copy of them per message)
    assert probe["loaded_weights_column_major"] is True


def test_sentence_vector_is_required_unless_its_weight_is_zero(probe: dict[str, Any]) -> None:
    assert "sentence vector is missing" in probe["without_sentence_vector"]
    assert [ranking[0]["name"] for ranking in probe["sparse_only"]] == EXPECTED


def test_untrained_or_empty_messages_get_no_intent(probe: dict[str, Any]) -> None:
    assert probe["untrained"] == {"intent": None, "ranking": []}
    assert probe["empty_text"] == []


def test_invalid_configuration_and_data_are_refused(probe: dict[str, Any]) -> None:
    assert probe["bad_config"] == [
        "C must be positive",
        "sentence_weight must not be negative",
        "need 1 <= char_min_ngram <= char_max_ngram",
        'class_weight must be "balanced" or null',
    ]
    assert "at least two intents" in probe["one_intent"]
