"""Thresholds files: written by the calibration, validated on load with errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.corpus import CorpusError
from knowledge.thresholds import Thresholds, load_thresholds


def test_a_missing_file_gives_defaults_that_never_use_the_out_of_scope_limit(
    tmp_path: Path,
) -> None:
    thresholds = load_thresholds(tmp_path / "none.yml")
    assert thresholds == Thresholds()
    assert not thresholds.out_of_scope_abstains(0.1, 1.0)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("answer: high\n", "answer"),
        ("out_of_scope: 1.5\n", "out_of_scope"),
        ("out_of_scope_unless: soon\n", "out_of_scope_unless"),
        ("no_such_field: 1\n", "(fields)"),
        ("- a list\n", "(root)"),
    ],
)
def test_malformed_files_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "thresholds.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        load_thresholds(path)
    assert field in str(caught.value) and str(path) in str(caught.value)


def test_the_limit_counts_below_the_override_score_only() -> None:
    limits = Thresholds(out_of_scope=0.2, out_of_scope_unless=3.0)
    assert limits.out_of_scope_abstains(2.9, 0.21)
    assert not limits.out_of_scope_abstains(3.0, 0.99)  # a clear match answers
    assert not limits.out_of_scope_abstains(1.0, 0.2)  # at the limit: not above it
    assert Thresholds(out_of_scope=0.2).out_of_scope_abstains(9.0, 0.3)  # no override
