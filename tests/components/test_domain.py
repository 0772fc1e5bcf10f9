"""components/domain.py: the domain detector, run inside the Rasa environment.

The checks run in `domain_probe.py` there (the test environment has no Rasa) and are
asserted here on its JSON output.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.rasa.environment import RASA_BIN

PROBE = Path(__file__).with_name("domain_probe.py")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("domain-gate")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [str(RASA_BIN.parent / "python"), str(PROBE), str(workdir)],
        capture_output=True, text=True, env=env, check=True, timeout=300,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_an_unplaced_ticket_question_stays_in_the_domain(probe: dict[str, Any]) -> None:
    case = probe["cases"]["ticket_question_unplaced"]
    assert case["intent"] == "nlu_fallback"
    assert case["domain"]["in_domain"] is True


def test_a_message_outside_the_domain_is_out_of_scope_whatever_its_intent(
    probe: dict[str, Any],
) -> None:
    for name in ("flight_called_refund", "weather_unplaced"):
        case = probe["cases"][name]
        assert case["intent"] == "out_of_scope", name
        assert case["domain"]["in_domain"] is False
        assert 0.0 <= case["domain"]["score"] < 0.5


def test_an_intent_the_classifier_is_sure_of_stands_against_a_low_domain_score(
    probe: dict[str, Any],
) -> None:
    unsure = probe["cases"]["flight_called_refund"]
    sure = probe["cases"]["flight_surely_refund"]
    assert unsure["domain"]["score"] == sure["domain"]["score"] < 0.5
    assert unsure["intent"] == "out_of_scope"
    assert sure["intent"] == "refund"
    assert sure["domain"]["in_domain"] is True


def test_the_nearest_training_examples_vote(probe: dict[str, Any]) -> None:
    # [share of the nearest examples inside the domain, best inside - best outside]
    weather, refund = probe["votes"]["weather"], probe["votes"]["refund"]
    assert weather[0] < 0.5 < refund[0]
    assert weather[1] < 0 < refund[1]


def test_the_conversation_s_own_moves_are_never_overruled(probe: dict[str, Any]) -> None:
    assert probe["cases"]["yes_is_kept"]["intent"] == "affirm"


def test_an_out_of_scope_intent_is_overturned_only_by_a_strong_domain_score(
    probe: dict[str, Any],
) -> None:
    case = probe["cases"]["oos_intent_on_ticket_text"]
    expected = "nlu_fallback" if case["domain"]["score"] >= 0.8 else "out_of_scope"
    assert case["intent"] == expected
    assert case["domain"]["in_domain"] is True


def test_the_persisted_gate_scores_the_same(probe: dict[str, Any]) -> None:
    assert probe["reloaded"] == probe["cases"]["ticket_question_unplaced"]


def test_a_corpus_change_changes_the_fingerprint_so_rasa_retrains(probe: dict[str, Any]) -> None:
    assert probe["fingerprint_changes"] is True


def test_bad_thresholds_are_refused(probe: dict[str, Any]) -> None:
    assert len(probe["errors"]) == 4
