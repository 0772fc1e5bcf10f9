"""Metrics and tracing on the real desk: a fan message is counted and timed in every
process that handles it, and can be followed by its id through the three logs."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx

from bot.api.keys import create_key
from core.db import engine_for, make_sessionmaker
from tests.e2e.conftest import Stack
from tests.support.metrics import scraped


def _lines_with(path: Path, needle: str, timeout: float = 15.0) -> list[str]:
    """The lines of log `path` naming `needle`, waiting a little for them to be written."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in path.read_text(errors="replace").splitlines() if needle in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_a_fan_message_is_counted_timed_and_followed_through_the_three_logs(
    stack: Stack,
) -> None:
    sessions = make_sessionmaker(engine_for(stack.database_url))
    key = create_key(sessions, f"prometheus-{uuid.uuid4().hex[:8]}", "read")[1]

    def scrape() -> str:
        response = httpx.get(
            f"{stack.base_url}/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.text

    before = scrape()
    request_id = f"e2e-{uuid.uuid4().hex}"
    conversation = f"trace-{uuid.uuid4().hex[:12]}"
    response = httpx.post(
        f"{stack.base_url}/api/v1/conversations/{conversation}/messages",
        json={"text": "which matches are on this weekend?"},
        headers={**stack.headers, "X-Request-ID": request_id},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"] == request_id
    replies = response.json()["replies"]
    after = scrape()

    def grew(name: str, by: float = 1, **labels: str) -> bool:
        return scraped(after, name, **labels) >= scraped(before, name, **labels) + by

    # Counted by the gateway...
    assert grew("matchday_messages_in_total", channel="api")
    assert grew("matchday_messages_out_total", by=len(replies), channel="api")
    assert grew("matchday_stage_seconds_count", stage="gateway")
    assert grew("matchday_stage_seconds_count", stage="rasa")
    # ...and by the action server, another process, added up in the gateway's answer.
    assert grew("matchday_stage_seconds_count", stage="actions")
    assert grew("matchday_action_seconds_count", action="action_list_fixtures")

    logs = Path(stack.env["MATCHDAY_LOG_DIR"])
    gateway = _lines_with(logs / "gateway.log", f"[{request_id}]")
    assert any("uvicorn.access" in x and f"/conversations/{conversation}/" in x for x in gateway)
    # The conversation's Rasa server, whichever of them it is (rasa.log, rasa-2.log ...).
    rasa = [line for log in logs.glob("rasa*.log") for line in _lines_with(log, f"[{request_id}]")]
    assert any(f"message of {conversation} answered in" in line for line in rasa), rasa
    actions = _lines_with(logs / "actions.log", f"[{request_id}]")
    assert any(f"action_list_fixtures for {conversation}:" in x for x in actions), actions
