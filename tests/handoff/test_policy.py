"""The routing policy and canned replies load, and a mistake names the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.handoff.canned import load_canned
from bot.handoff.policy import POLICY_PATH, PolicyError, load_policy, parse_policy


def test_the_shipped_files_validate() -> None:
    policy = load_policy()
    assert policy.thresholds.miss_strikes == 2
    assert policy.misses.intents == ["nlu_fallback"] and "no_answer" in policy.misses.signals
    assert "purchase_stage" in policy.task_slots
    assert "人工" in policy.explicit_request.keywords.zh
    assert {c.id for c in load_canned()} >= {"greeting", "order_ref"}
    assert "{minutes}" in policy.messages["queued"].zh


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("intent_confidence: 0.6", "intent_confidence: 1.6", 9, "intent_confidence"),
        ("miss_strikes: 2", "miss_strikes: 1", 12, "miss_strikes"),
        ('commands: ["/human"', 'commands: ["human"', 36, "slash"),
        ("{minutes} min", "{mins} min", 80, "placeholder"),
    ],
)
def test_mistakes_name_the_line(old: str, new: str, line: int, words: str) -> None:
    text = POLICY_PATH.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(PolicyError) as error:
        parse_policy(text.replace(old, new, 1), "routing.yml")
    message = str(error.value)
    assert message.startswith("routing.yml:"), message
    assert words in message
    reported = int(message.split(":")[1])
    assert abs(reported - line) <= 3, message


def test_missing_or_broken_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.yml")
    broken = tmp_path / "routing.yml"
    broken.write_text("version: 1\nthresholds: [\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(broken)
