"""Files only the desk's own user may read: `.env`, SQLite databases, logs of secrets.

Each is created with mode 0600 by `os.open` itself, so there is no moment at which
another user of the machine could open it (a `chmod` after creating would leave one).
Files made 0644 by an older desk are tightened when the desk next prepares.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE = 0o600


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (then it is tightened)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        tighten(path)


def append_private(path: Path, text: str) -> None:
    """Append `text` to `path`, creating it with mode 0600 if it is new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(text)
    tighten(path)


def tighten(path: Path) -> None:
    """Take away every permission of group and others from an existing file."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        path.chmod(mode & 0o700)
