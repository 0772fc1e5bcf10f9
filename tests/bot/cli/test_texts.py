from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from core.texts import TEXTS_DIR

runner = CliRunner()


def catalogue_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "texts"
    shutil.copytree(TEXTS_DIR, copy)
    return copy


def test_the_desks_catalogue_and_code_pass() -> None:
    result = runner.invoke(app, ["texts", "check"])
    assert result.exit_code == 0, result.output
    assert "sound" in result.output


def test_a_key_missing_in_one_language_fails(tmp_path: Path) -> None:
    texts = catalogue_copy(tmp_path)
    zh = texts / "zh.yml"
    zh.write_text(
        zh.read_text(encoding="utf-8").replace("  launcher: 在线咨询\n", ""), encoding="utf-8"
    )
    result = runner.invoke(app, ["texts", "check", "--catalogue", str(texts)])
    assert result.exit_code == 1
    assert f"{zh}: widget.launcher: missing (it is in en.yml)" in result.output


def test_a_placeholder_mismatch_fails(tmp_path: Path) -> None:
    texts = catalogue_copy(tmp_path)
    zh = texts / "zh.yml"
    zh.write_text(
        zh.read_text(encoding="utf-8").replace("第 {n} 位", "第 {position} 位"), encoding="utf-8"
    )
    result = runner.invoke(app, ["texts", "check", "--catalogue", str(texts)])
    assert result.exit_code == 1
    assert "widget.queued: placeholders ['position'] differ from en.yml's ['n']" in result.output


def test_a_key_the_code_uses_but_the_catalogue_lacks_fails(tmp_path: Path) -> None:
    texts = catalogue_copy(tmp_path)
    for name in ("en.yml", "zh.yml"):
        path = texts / name
        kept = [line for line in path.read_text(encoding="utf-8").splitlines()
                if not line.startswith("  best_available:")]  # fmt: skip
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["texts", "check", "--catalogue", str(texts)])
    assert result.exit_code == 1
    assert "actions/purchase.py:" in result.output
    assert "purchase.best_available: not in the catalogue" in result.output
