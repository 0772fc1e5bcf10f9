"""`desk tickets postpone/cancel` queue the fans' notices; `desk notify` runs the
match-day pack on demand, lists the outbox and retries failed notices."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

from sqlalchemy import select, update

from bot.notifications.models import Notice
from core.db import write_session
from core.settings import ROOT
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy

DESK = str(ROOT / ".venv" / "bin" / "desk")


def desk(club: Club, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": club.url, "MATCHDAY_API_KEY": "k"}
    return subprocess.run(
        [DESK, *args], env=env, capture_output=True, text=True, check=False, cwd=ROOT
    )


def keys(club: Club) -> list[tuple[str, str]]:
    with club.db() as session:
        return [(n.kind, n.customer) for n in session.scalars(select(Notice).order_by(Notice.id))]


def test_operations_queue_notices_and_notify_runs_the_pack(club: Club) -> None:
    buy(club, "tg:1", 2)
    buy(club, "web:conv-2", 1)
    when = (club.now + timedelta(days=20)).isoformat()
    done = desk(club, "tickets", "postpone", str(club.fixture), "--to", when)
    assert done.returncode == 0, done.stderr
    assert "2 notices queued" in done.stdout
    again = desk(club, "tickets", "postpone", str(club.fixture), "--to", when)
    assert "0 notices queued" in again.stdout, "the same postponement is notified once"
    assert keys(club) == [("postponed", "tg:1"), ("postponed", "web:conv-2")]

    pack = desk(club, "notify", "matchday", str(club.fixture))
    assert pack.returncode == 0 and "2 match-day packs queued" in pack.stdout
    assert desk(club, "notify", "matchday", "999999").returncode == 2

    cancelled = desk(club, "tickets", "cancel", str(club.fixture), "--yes")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "2 notices queued" in cancelled.stdout
    assert [k for k, _ in keys(club)].count("cancelled") == 2

    with write_session(club.db) as session:
        session.execute(
            update(Notice).where(Notice.kind == "matchday").values(status="failed", last_error="x")
        )
    listed = desk(club, "notify", "list", "--failed")
    assert listed.returncode == 0 and "failed 2" in listed.stdout and "matchday" in listed.stdout
    with club.db() as session:
        matchday = select(Notice.id).where(Notice.kind == "matchday")
        ids = [str(i) for i in session.scalars(matchday)]
    retried = desk(club, "notify", "retry", *ids)
    assert "2 notices queued again" in retried.stdout
