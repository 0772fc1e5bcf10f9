"""The routing policy and canned replies load, and a mistake names the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.handoff.canned import load_canned
from bot.handoff.policy import POLICY_PATH, PolicyError, load_policy, parse_policy


def test_the_shipped_files_validate() -> None:
    policy = load_policy()
    assert policy.thresholds.low_confidence_strikes == 2
    assert policy.thresholds.fallback_strikes == 2 and policy.thresholds.fallback_window == 5
    assert "人工" in policy.explicit_request.keywords.zh
    assert {c.id for c in load_canned()} >= {"greeting", "order_ref"}
    assert "{minutes}" in policy.messages["queued"].zh


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("low_confidence: 0.6", "low_confidence: 1.6", 8, "thresholds.low_confidence"),
        ("fallback_window: 5 ", "fallback_window: 1 ", 8, "fallback_window"),
        ('commands: ["/human"', 'commands: ["human"', 22, "slash"),
        ("{minutes} min", "{mins} min", 66, "placeholder"),
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
