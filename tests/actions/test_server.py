"""The desk's action server: the desk's secret or nothing, bounded bodies, and each call
logged under the correlation id of the fan message it serves."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from actions.server import (
    MAX_DECOMPRESSED_BYTES,
    authorized,
    correlation_id_of,
    inflated_size_ok,
)
from tests.support.processes import LOOPBACK, listening_addresses
from tests.support.server import free_port

SECRET = "test-actions-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's action server keeps its database and its log."""
    return tmp_path_factory.mktemp("actions")


@pytest.fixture(scope="module")
def action_server(folder: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "MATCHDAY_ACTIONS_PORT": str(port),
        "MATCHDAY_ACTIONS_SECRET": SECRET,
        "DATABASE_URL": f"sqlite:///{folder / 'desk.db'}",
    }
    env.pop("MATCHDAY_ACTIONS_HOST", None)
    log = (folder / "actions.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "actions.server"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {SECRET}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (folder / "actions.log").read_text()
            assert time.monotonic() < deadline, "the action server did not start"
            try:
                if httpx.get(f"{url}/health", headers=headers).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_the_secret_is_compared_whole_and_in_constant_time() -> None:
    assert authorized(f"Bearer {SECRET}", SECRET)
    assert not authorized(f"Bearer {SECRET[:-1]}", SECRET)
    assert not authorized(SECRET, SECRET)
    assert not authorized("Bearer é", SECRET)  # non-ASCII: refused, not an error
    assert not authorized(None, SECRET)
    assert not authorized("Bearer ", "")


def test_a_deflate_bomb_is_measured_without_being_inflated() -> None:
    bomb = zlib.compress(b"\0" * (MAX_DECOMPRESSED_BYTES + 1))
    assert len(bomb) < 64 * 1024
    assert not inflated_size_ok(bomb)
    assert inflated_size_ok(zlib.compress(b'{"next_action": "action_listen"}'))
    assert not inflated_size_ok(b"not zlib at all")


def test_calls_without_the_secret_are_refused(action_server: str) -> None:
    call = {"next_action": "action_order_status", "tracker": {"slots": {"customer": "tg:1"}}}
    assert httpx.post(f"{action_server}/webhook", json=call).status_code == 401
    assert httpx.get(f"{action_server}/actions").status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    refused = httpx.post(f"{action_server}/webhook", json=call, headers=wrong)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"


def test_a_compressed_body_too_large_once_inflated_is_refused(action_server: str) -> None:
    bomb = zlib.compress(b" " * (MAX_DECOMPRESSED_BYTES + 1))
    response = httpx.post(
        f"{action_server}/webhook",
        content=bomb,
        headers={"Authorization": f"Bearer {SECRET}", "Content-Encoding": "deflate"},
    )
    assert response.status_code == 413


def test_it_listens_on_loopback_by_default(action_server: str) -> None:
    port = int(action_server.rsplit(":", 1)[1])
    assert listening_addresses(port) == {LOOPBACK}


def _call(action: str, metadata: dict[str, object]) -> dict[str, object]:
    """A webhook call as Rasa makes it (the tracker cut to what the action reads)."""
    return {
        "next_action": action,
        "sender_id": "conv-9",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "conv-9",
            "slots": {},
            "latest_message": {"text": "stop", "intent": {"name": "deny"}, "metadata": metadata},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def test_the_correlation_id_is_read_from_the_latest_messages_metadata() -> None:
    assert correlation_id_of(_call("a", {"correlation_id": "msg-1.x"})) == "msg-1.x"
    assert correlation_id_of(_call("a", {"correlation_id": "no spaces please"})) is None
    assert correlation_id_of(_call("a", {})) is None
    assert correlation_id_of({"tracker": {"latest_message": None}}) is None
    assert correlation_id_of({"tracker": "not a tracker"}) is None
    assert correlation_id_of({}) is None


def test_each_call_is_logged_under_the_correlation_id_of_its_message(
    action_server: str, folder: Path
) -> None:
    headers = {"Authorization": f"Bearer {SECRET}"}
    for metadata in ({"correlation_id": "act-42.x"}, {"correlation_id": "bad id!"}):
        call = _call("action_cancel_purchase", metadata)
        answer = httpx.post(f"{action_server}/webhook", json=call, headers=headers)
        assert answer.status_code == 200, answer.text
    log, deadline = folder / "actions.log", time.monotonic() + 10

    def calls() -> list[str]:
        return [x for x in log.read_text().splitlines() if "action_cancel_purchase for" in x]

    while len(lines := calls()) < 2:
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
    assert "[act-42.x] matchday.actions - action_cancel_purchase for conv-9: " in lines[0]
    assert "[-] matchday.actions - action_cancel_purchase for conv-9: " in lines[1]


def test_actions_run_off_the_event_loop_and_never_hold_up_each_other() -> None:
    """Two actions each blocking their thread for 0.3 s (a database wait) finish together,
    on worker threads, while the server's event loop keeps turning."""
    from actions.server import _executor
    from tests.actions.blocking import BLOCK_S

    executor = _executor("tests.actions.blocking")

    async def scenario() -> tuple[float, float, list[object], int]:
        loop_thread = threading.get_ident()
        lags: list[float] = []

        async def ticker() -> None:
            while True:
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - before - 0.01)

        ticking = asyncio.create_task(ticker())
        started = time.perf_counter()
        results = await asyncio.gather(
            executor.run(_call("action_block", {})), executor.run(_call("action_block", {}))
        )
        took = time.perf_counter() - started
        ticking.cancel()
        threads = [r.events[0]["value"] for r in results]
        return took, max(lags), threads, loop_thread

    took, worst_lag, threads, loop_thread = asyncio.run(scenario())
    assert took < 2 * BLOCK_S  # side by side, not one after the other
    assert worst_lag < 0.1  # the loop answered other work meanwhile
    assert loop_thread not in threads and len(set(threads)) == 2
