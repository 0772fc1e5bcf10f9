"""The layer contract (`lint-imports`, part of `make lint`) holds, and would catch a break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "ticketing", "knowledge", "actions", "bot", "components")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the project's packages and its contract, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_its_layers(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        (
            "ticketing/upward.py",
            "from bot.api import app\n",
            "ticketing is not allowed to import bot",
        ),
        ("core/upward.py", "import ticketing.orders\n", "core is not allowed to import ticketing"),
        ("actions/sideways.py", "import bot.triage\n", "actions is not allowed to import bot"),
        ("components/inside.py", "import knowledge.text\n", "components is not allowed"),
    ],
)
def test_an_import_across_the_layers_fails_the_lint(
    tree: Path, module: str, line: str, broken: str
) -> None:
    (tree / module).write_text(line, encoding="utf-8")
    result = _lint(tree)
    assert result.returncode != 0
    assert broken in " ".join(result.stdout.split()), result.stdout
