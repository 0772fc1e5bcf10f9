"""The desk's action server: the desk's secret or nothing, and bounded bodies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from actions.server import MAX_DECOMPRESSED_BYTES, authorized, inflated_size_ok
from tests.support.processes import LOOPBACK, listening_addresses
from tests.support.server import free_port

SECRET = "test-actions-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    folder = tmp_path_factory.mktemp("actions")
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
