"""The engine asks which database it runs on in one place: the store selection."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DESK = ("core", "ticketing", "knowledge", "actions", "bot")
ASKS = re.compile(r"dialect\.name")
COMPARES = re.compile(
    r"""[!=]=\s*["'](?:postgresql|sqlite)["']|["'](?:postgresql|sqlite)["']\s*[!=]="""
)


def _lines(packages: tuple[str, ...]) -> list[tuple[str, int, str]]:
    found = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                found.append((relative, number, line))
    return found


def test_only_core_reads_the_dialect() -> None:
    readers = {f"{path}:{n}" for path, n, line in _lines(DESK) if ASKS.search(line)}
    assert [r.split(":")[0] for r in readers] == ["core/db.py"], readers


def test_the_engine_compares_database_kinds_only_where_it_picks_its_store() -> None:
    allowed = {"ticketing/store/__init__.py"}
    comparisons = [
        f"{path}:{n}: {line.strip()}"
        for path, n, line in _lines(("ticketing",))
        if COMPARES.search(line) and path not in allowed
    ]
    assert comparisons == []


def test_the_checks_would_catch_a_new_branch(tmp_path: Path) -> None:
    """The patterns find the branches this issue removed (so an empty result means none)."""
    old = [
        'if session.get_bind().dialect.name == "postgresql":',
        'if dialect != "postgresql":',
        'if conn.dialect.name == "postgresql":',
    ]
    assert all(ASKS.search(line) or COMPARES.search(line) for line in old)
