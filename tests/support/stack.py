"""Starting the whole desk (`desk prepare` + `desk run`) on free ports, as `make run` does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.settings import ROOT
from tests.support.server import free_port, free_ports

READY_TIMEOUT_S = 300
RASA_SERVERS = 4  # consecutive ports kept free for the Rasa servers (MATCHDAY_RASA_WORKERS)
STACK_API_KEY = "stack-key-0123456789"


@dataclass
class Stack:
    """A running desk: where it listens and how to reach its parts."""

    base_url: str
    api_key: str
    database_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers, timeout=60)

    def say(self, conversation_id: str, text: str, **extra: object) -> dict[str, object]:
        response = httpx.post(
            f"{self.base_url}/api/v1/conversations/{conversation_id}/messages",
            json={"text": text, **extra},
            headers=self.headers,
            timeout=60,
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"desk exited early:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"desk not ready in {READY_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


@contextmanager
def running_desk(
    workdir: Path, database_url: str | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """Prepare and run the desk with its state in `workdir`; stop it afterwards.

    `extra_env` adds or overrides settings (e.g. a Telegram token and Bot API server).
    """
    database_url = database_url or f"sqlite:///{workdir / 'desk.db'}"
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        MATCHDAY_API_KEY=STACK_API_KEY,
        MATCHDAY_RASA_TOKEN="stack-rasa-token-0123456789abcdef012",
        MATCHDAY_ACTIONS_SECRET="stack-actions-secret",
        MATCHDAY_PORT=str(port),
        MATCHDAY_RASA_PORT=str(free_ports(RASA_SERVERS)),  # Rasa servers: this port and on
        MATCHDAY_ACTIONS_PORT=str(free_port()),
        MATCHDAY_LOG_DIR=str(workdir / "log"),
        # "One moment" and a 202 after 5 s is tested with a slow assistant (tests/bot/
        # conversations/test_pressure.py); here a cold start on a loaded machine must
        # not turn an answer the tests read into a 202.
        MATCHDAY_REPLY_PATIENCE="60",
        MATCHDAY_FAQ_DIR=str(workdir / "faq"),
    )
    env.update(extra_env or {})
    # The FAQ index `make test` built for this corpus: `desk prepare` keeps a copy that is
    # current (its manifest names the corpus fingerprint) and rebuilds a stale one.
    shared_index = ROOT / "models" / "faq"
    if shared_index.is_dir() and not (workdir / "faq").exists():
        shutil.copytree(shared_index, workdir / "faq")
    desk = str(ROOT / ".venv" / "bin" / "desk")
    subprocess.run([desk, "prepare"], env=env, cwd=ROOT, check=True)
    log_path = workdir / "desk.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [desk, "run"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, log_path)
        yield Stack(base_url, STACK_API_KEY, database_url, env, log_path, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
