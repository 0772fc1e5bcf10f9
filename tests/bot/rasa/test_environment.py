"""bot/rasa/environment.py: what the training fingerprint covers."""

from __future__ import annotations

from pathlib import Path

from bot.rasa.environment import training_fingerprint


def _project(root: Path) -> Path:
    (root / "data" / "nlu").mkdir(parents=True)
    (root / "data" / "demo").mkdir()
    (root / "components" / "__pycache__").mkdir(parents=True)
    (root / "config.yml").write_text("pipeline: []\n")
    (root / "domain.yml").write_text("intents: []\n")
    (root / "data" / "nlu" / "greet.yml").write_text("nlu: []\n")
    (root / "components" / "classifiers.py").write_text("X = 1\n")
    return root


def test_changing_custom_component_code_changes_the_fingerprint(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = training_fingerprint(root)
    (root / "components" / "classifiers.py").write_text("X = 2\n")
    assert training_fingerprint(root) != before


def test_bytecode_and_data_rasa_does_not_read_leave_it_alone(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = training_fingerprint(root)
    (root / "components" / "__pycache__" / "classifiers.cpython-310.pyc").write_bytes(b"\0")
    (root / "data" / "demo" / "club.json").write_text("{}")
    assert training_fingerprint(root) == before


def test_training_data_changes_the_fingerprint(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = training_fingerprint(root)
    (root / "data" / "nlu" / "greet.yml").write_text("nlu: [hi]\n")
    assert training_fingerprint(root) != before
