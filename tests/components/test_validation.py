"""components/validation.py: Rasa's check of action server answers, validator built once.

The checks run in `validation_probe.py` inside the Rasa environment (the test environment
has no Rasa) and are asserted here on its JSON output.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.rasa.environment import RASA_BIN

PROBE = Path(__file__).with_name("validation_probe.py")


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [str(RASA_BIN.parent / "python"), str(PROBE)],
        capture_output=True, text=True, env=env, check=True, timeout=300,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_installed_check_answers_as_rasas_own(probe: dict[str, Any]) -> None:
    assert probe["installed"] == probe["stock"]
    verdicts = {name: case["valid"] for name, case in probe["stock"].items()}
    assert verdicts == {
        "slots and a response": True,
        "a form ending": True,
        "empty": True,
        "an unknown event": False,
        "responses not a list": False,
        "a slot without a name": False,
    }
    refused = probe["installed"]["an unknown event"]["message"]
    assert "'teleport'" in refused and "Failed to validate Action server response" in refused


def test_the_schema_is_checked_once_for_many_answers(probe: dict[str, Any]) -> None:
    # 50 rounds of 6 answers: Rasa's own check would check the schema 300 times.
    assert probe["schema checks"] == 1
