"""`desk users create` reads the password from standard input and stores only a hash."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bot.handoff.auth import login
from core.db import engine_for, make_sessionmaker
from core.settings import ROOT

DESK = str(ROOT / ".venv" / "bin" / "desk")


def test_users_create_reads_stdin(sqlite_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": sqlite_url, "MATCHDAY_API_KEY": "k"}
    secret = "a long enough secret 42"
    done = subprocess.run(
        [DESK, "users", "create", "--username", "mei", "--role", "supervisor", "--languages", "zh"],
        input=secret + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    again = subprocess.run(
        [DESK, "users", "create", "--username", "mei", "--role", "agent"],
        input=secret + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 1 and "exists" in again.stderr
    short = subprocess.run(
        [DESK, "users", "create", "--username", "lee", "--role", "agent"],
        input="short\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert short.returncode == 1 and "at least" in short.stderr
    session = login(make_sessionmaker(engine_for(sqlite_url)), "mei", secret, "127.0.0.1")
    assert session.principal.role == "supervisor" and session.principal.languages == ("zh",)
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    assert secret.encode() not in b"".join(
        p.read_bytes() for p in database.parent.glob(database.name + "*")
    )
