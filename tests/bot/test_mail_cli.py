"""`desk mail` shows the local mail outbox, newest first, as text or JSON."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta

from core.clock import utcnow
from core.db import engine_for, make_sessionmaker, write_session
from core.settings import ROOT
from ticketing.mail import MailMessage, deliver

DESK = str(ROOT / ".venv" / "bin" / "desk")


def _desk(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "MATCHDAY_API_KEY": "k"}
    done = subprocess.run(
        [DESK, "mail", *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_desk_mail_lists_the_outbox(sqlite_url: str) -> None:
    assert "the outbox is empty" in _desk(sqlite_url)
    db = make_sessionmaker(engine_for(sqlite_url))
    now = utcnow()
    with write_session(db) as session:
        deliver(session, MailMessage("lee@example.com", "Your code", "code 123456"), now)
        deliver(session, MailMessage("mei@example.com", "A ticket", "seat W3-F-17"), now)
        later = now + timedelta(seconds=1)
        deliver(session, MailMessage("lee@example.com", "Another code", "code 654321"), later)

    text = _desk(sqlite_url, "--to", "Lee@Example.com")
    assert text.index("654321") < text.index("123456") and "W3-F-17" not in text
    mails = json.loads(_desk(sqlite_url, "--json", "--limit", "2"))
    assert [m["subject"] for m in mails] == ["Another code", "A ticket"]
    assert mails[0]["to"] == "lee@example.com"
