"""`desk users create` and `password` read the password from standard input and store only
a hash; `deactivate` ends the agent's sessions at once."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.handoff.agents import create_agent
from bot.handoff.auth import authenticate, login
from bot.handoff.errors import NotAuthenticated
from bot.handoff.models import AuditEntry
from core.db import engine_for, make_sessionmaker, read_session
from core.settings import ROOT, get_settings

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


def test_users_deactivate_activate_and_password(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    sessions = make_sessionmaker(engine_for(sqlite_url))
    old, new = "the first long secret", "the second long secret"
    create_agent(sessions, "nia", old, "agent")
    token = login(sessions, "nia", old, "127.0.0.1").token

    def desk(*args: str, stdin: str = "") -> Result:
        # In process (the subprocess test above shows the real standard input is read).
        return CliRunner().invoke(app, ["users", *args], input=stdin)

    deactivated = desk("deactivate", "nia")
    assert deactivated.exit_code == 0, deactivated.output
    assert "1 session(s) ended" in deactivated.output
    with pytest.raises(NotAuthenticated):
        authenticate(sessions, token)
    with pytest.raises(NotAuthenticated):
        login(sessions, "nia", old, "127.0.0.1")
    assert desk("activate", "nia").exit_code == 0
    token = login(sessions, "nia", old, "127.0.0.1").token

    assert desk("password", "nia", stdin="short\n").exit_code == 1
    reset = desk("password", "nia", stdin=new + "\n")
    assert reset.exit_code == 0, reset.output
    assert new not in reset.output
    with pytest.raises(NotAuthenticated):
        authenticate(sessions, token)
    with pytest.raises(NotAuthenticated):
        login(sessions, "nia", old, "127.0.0.1")
    assert login(sessions, "nia", new, "127.0.0.1").principal.username == "nia"
    assert desk("deactivate", "nobody").exit_code == 1
    with read_session(sessions) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"agent_deactivated", "agent_activated", "password_reset"} <= actions
    get_settings.cache_clear()
