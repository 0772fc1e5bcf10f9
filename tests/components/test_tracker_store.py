"""components/tracker_store.py: Rasa's SQL tracker store with conversations kept in memory.

The checks run in `tracker_store_probe.py` inside the Rasa environment (the test
environment has no Rasa) and are asserted here on its JSON output.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.rasa.environment import RASA_BIN

PROBE = Path(__file__).with_name("tracker_store_probe.py")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    database = tmp_path_factory.mktemp("tracker") / "tracker.db"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [str(RASA_BIN.parent / "python"), str(PROBE), str(database)],
        capture_output=True, text=True, env=env, check=True, timeout=300,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_cached_turn_reads_one_statement_and_matches_rasas_own_store(
    probe: dict[str, Any],
) -> None:
    # The next turn's tracker: one `max(id)` instead of the whole session.
    assert [step["retrieve_statements"] for step in probe["steps"]] == [1, 1]
    assert probe["same_as_rasa"] and probe["same_as_rasa_at_end"]
    assert probe["latest_is_saved"]
    assert probe["summary"] == {
        "intent": "buy",
        "confidence": 0.9,
        "active_loop": None,
        "slots": {"quantity": 2.0},
    }


def test_another_writer_and_unsaved_changes_are_never_hidden(probe: dict[str, Any]) -> None:
    assert probe["sees_other_writer"] and probe["slot_after_other_writer"] == 3.0
    assert probe["unsaved_change_served"] is False


def test_each_event_is_stored_once(probe: dict[str, Any]) -> None:
    assert probe["rows"] == probe["events"] == 20


def test_exists_the_cache_bound_and_a_new_domain(probe: dict[str, Any]) -> None:
    assert probe["exists"] == [True, False]
    assert probe["cached_after_lru"] == ["fan-b", "fan-c"]
    assert probe["cached_after_new_domain"] == []
    assert probe["found_inside_wrapper"]


def test_sqlite_trackers_are_written_ahead_on_pooled_connections(probe: dict[str, Any]) -> None:
    assert probe["journal_mode"] == "wal"
    # Three turns, one connection (Rasa's own store opens one per session).
    assert probe["connections_opened"] == 1
