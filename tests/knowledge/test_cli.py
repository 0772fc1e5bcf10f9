from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from knowledge.config import KnowledgeConfig, load_config
from knowledge.corpus import CorpusError, entry_from_mapping, load_corpus

runner = CliRunner()


def _config_file(config: KnowledgeConfig, tmp_path: Path) -> Path:
    """A config using the real corpus and labels but a throw-away index and thresholds."""
    path = tmp_path / "config.yml"
    data = {
        "corpus_dir": str(config.corpus),
        "labels_path": str(config.labels),
        "index_dir": str(tmp_path / "faq"),
        "thresholds_path": str(tmp_path / "thresholds.yml"),
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_validate_reports_the_corpus(config: KnowledgeConfig, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["knowledge", "validate", "--config", str(_config_file(config, tmp_path))]
    )
    assert result.exit_code == 0, result.output
    assert "entries valid" in result.output


def test_validate_fails_loudly_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "corpus" / "entry-security" / "entry-x.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("id: entry-x\n", encoding="utf-8")
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"corpus_dir": str(tmp_path / "corpus")}), encoding="utf-8")
    result = runner.invoke(app, ["knowledge", "validate", "--config", str(config)])
    assert result.exit_code == 1
    assert str(bad) in result.output


def test_build_calibrate_and_ask(config: KnowledgeConfig, tmp_path: Path) -> None:
    path = str(_config_file(config, tmp_path))
    built = runner.invoke(app, ["knowledge", "build", "--config", path])
    assert built.exit_code == 0, built.output
    assert (tmp_path / "faq" / "manifest.json").is_file()
    calibrated = runner.invoke(
        app, ["knowledge", "calibrate", "--held-out-folds", "1", "--config", path]
    )
    assert calibrated.exit_code == 0, calibrated.output
    thresholds = yaml.safe_load((tmp_path / "thresholds.yml").read_text(encoding="utf-8"))
    assert thresholds["provenance"]["split"] == ["calibration"]
    # A quarter of the corpus paraphrases, asked of an index built without them.
    held_out = thresholds["provenance"]["held_out_wordings"]
    assert 800 < held_out["answerable"] < 1700
    assert held_out["top1"] > 0.7
    asked = runner.invoke(app, ["knowledge", "ask", "球场里允许挂横幅吗", "--config", path])
    assert asked.exit_code == 0, asked.output
    assert "entry-flags-banners" in asked.output
    assert asked.output.startswith("decision: ")


def test_ask_without_an_index_says_how_to_build_one(
    config: KnowledgeConfig, tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["knowledge", "ask", "hello", "--config", str(_config_file(config, tmp_path))]
    )
    assert result.exit_code == 1
    assert "desk knowledge build" in result.output


def test_export_writes_published_entries_as_reviewable_files(tmp_path: Path) -> None:
    published = [
        {
            "id": "db-41",
            "category": "entry-security",
            "topic": "stadium_entry",
            "question": {"en": "Can I bring a kite?"},
            "answer": {"en": "No kites, please."},
            "owner": "agent:li",
        }
    ]
    source = tmp_path / "published.json"
    source.write_text(json.dumps(published), encoding="utf-8")
    result = runner.invoke(
        app, ["knowledge", "export", str(source), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    written = tmp_path / "out" / "entry-security" / "db-41.yml"
    entry = entry_from_mapping(yaml.safe_load(written.read_text(encoding="utf-8")))
    assert entry.owner == "agent:li" and entry.answer == {"en": "No kites, please."}


def test_calibration_files_join_the_calibration_half(
    config: KnowledgeConfig, tmp_path: Path
) -> None:
    # Negatives worded like corpus questions score high: a calibration file of them
    # must raise the abstention threshold (and its rows count as calibration rows).
    path = _config_file(config, tmp_path)
    assert runner.invoke(app, ["knowledge", "build", "--config", str(path)]).exit_code == 0
    args = ["knowledge", "calibrate", "--held-out-folds", "0", "--config", str(path)]
    assert runner.invoke(app, args).exit_code == 0
    plain = yaml.safe_load((tmp_path / "thresholds.yml").read_text(encoding="utf-8"))
    near_misses = tmp_path / "near_misses.jsonl"
    questions = [e.question["en"] for e in load_corpus(config.corpus).entries[:40]]
    near_misses.write_text(
        "".join(
            json.dumps({"text": f"{q} (asking for a friend)", "language": "en", "entry": None})
            + "\n"
            for q in questions
        ),
        encoding="utf-8",
    )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["calibration_paths"] = [str(near_misses)]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    stricter = yaml.safe_load((tmp_path / "thresholds.yml").read_text(encoding="utf-8"))
    assert stricter["suggest"] > plain["suggest"]
    assert stricter["provenance"]["negatives"] == plain["provenance"]["negatives"] + 40
    assert stricter["provenance"]["split"] == ["calibration"]


def test_calibration_paths_must_be_a_list_of_files(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("calibration_paths: bench/data/x.jsonl\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="calibration_paths"):
        load_config(path)
    path.write_text("calibration_paths: [a.jsonl, b.jsonl]\n", encoding="utf-8")
    assert [p.name for p in load_config(path).calibration_files] == ["a.jsonl", "b.jsonl"]
