"""Files with secrets are private from the moment they exist."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.db import engine_for
from core.files import append_private, create_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_env_lines_are_appended_to_a_file_made_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: new files would be world-readable
    try:
        append_private(tmp_path / ".env", "MATCHDAY_API_KEY=x\n")
        append_private(tmp_path / ".env", "MATCHDAY_RASA_TOKEN=y\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / ".env") == 0o600
    assert (tmp_path / ".env").read_text() == "MATCHDAY_API_KEY=x\nMATCHDAY_RASA_TOKEN=y\n"


def test_a_file_an_older_desk_left_readable_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    create_private(path)
    assert _mode(path) == 0o600


def test_a_new_sqlite_database_is_created_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        engine = engine_for(f"sqlite:///{tmp_path / 'var' / 'fresh.db'}")
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "var" / "fresh.db") == 0o600
