"""Runs the desk's three processes together and keeps them running.

`make run` ends here: the Rasa server, the action server and the gateway start as
children, each logging to `var/log/<name>.log`. A child that dies is reported with
the tail of its log and restarted. Each child leads its own process group, and
is stopped with the whole group: a server's worker left behind by a `kill -9` of
its parent would hold the port and make every restart fail.

A child that keeps dying (`max_restarts` in `window_s`) is reported and retried
after a growing pause (up to `max_backoff_s`); it never takes the others down,
so a broken action server still leaves fans their FAQ answers and agents.
Ctrl-C stops everything.

The children share one directory for their Prometheus metrics (`metrics_dir`, their
PROMETHEUS_MULTIPROC_DIR; core/metrics.py); the live gauges of a child that died are
dropped from it before it is started again, so open sockets and in-flight messages
count the living only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from core import metrics


class PortTaken(RuntimeError):
    """A port the desk needs is already in use."""

    def __init__(self, port: int, variable: str) -> None:
        super().__init__(
            f"port {port} is already in use; stop what uses it or choose another port "
            f"with {variable}=<port>"
        )
        self.port = port
        self.variable = variable


@dataclass
class Service:
    """One child process of the desk."""

    name: str
    argv: list[str]
    port: int
    port_variable: str
    ready_url: str
    env: dict[str, str]
    log_path: Path
    cwd: Path
    ready_headers: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    restarts: deque[float] = field(default_factory=deque)
    failures: int = 0  # pauses in a row since the service last stayed up
    retry_at: float = 0.0  # monotonic time of the next start while paused

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        log.write(f"\n--- starting {self.name} at {time.ctime()} ---\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group (pgid = pid): Ctrl-C reaches the supervisor only,
            # and `stop` can end the child with everything it started.
            start_new_session=True,
        )
        log.close()

    def is_ready(self) -> bool:
        try:
            response = httpx.get(self.ready_url, headers=self.ready_headers, timeout=2.0)
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 30) -> str:
        try:
            with self.log_path.open("rb") as f:
                return b"".join(deque(f, maxlen=lines)).decode(errors="replace")
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the child and every process of its group (SIGTERM, then SIGKILL)."""
        if self.process is None:
            return
        group = self.process.pid
        if self.process.poll() is None:
            _signal_group(group, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(group, signal.SIGKILL)
                self.process.wait()
        # The leader is gone; whatever it left in its group (a Sanic worker, say)
        # must not outlive it.
        _signal_group(group, signal.SIGKILL)
        _wait_group_gone(group, timeout=5.0)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def _wait_group_gone(group: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def check_port_free(port: int, variable: str, host: str = "127.0.0.1") -> None:
    """Raise PortTaken when something already listens on `port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortTaken(port, variable) from exc


class Supervisor:
    """Starts services in order, waits for readiness, restarts the ones that die."""

    def __init__(
        self,
        services: list[Service],
        *,
        max_restarts: int = 3,
        window_s: float = 300.0,
        first_backoff_s: float = 30.0,
        max_backoff_s: float = 300.0,
        echo: Callable[[str], None] = print,
        metrics_dir: Path | None = None,
    ) -> None:
        self.services = services
        self.metrics_dir = metrics_dir
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self.echo = echo
        self._stopping = False

    def check_ports(self) -> None:
        for service in self.services:
            check_port_free(service.port, service.port_variable)

    def start_all(self, ready_timeout_s: float = 300.0) -> None:
        """Start every service, then wait until each answers its readiness URL."""
        for service in self.services:
            self.echo(f"starting {service.name} on port {service.port} (log: {service.log_path})")
            service.start()
        deadline = time.monotonic() + ready_timeout_s
        pending = list(self.services)
        while pending:
            for service in list(pending):
                if service.process is not None and service.process.poll() is not None:
                    raise RuntimeError(
                        f"{service.name} exited with code {service.process.returncode} "
                        f"while starting; last lines of {service.log_path}:\n"
                        f"{service.log_tail()}"
                    )
                if service.is_ready():
                    self.echo(f"{service.name} is ready")
                    pending.remove(service)
            if pending and time.monotonic() > deadline:
                names = ", ".join(s.name for s in pending)
                raise RuntimeError(f"not ready after {ready_timeout_s:.0f} s: {names}")
            time.sleep(0.5)

    def watch(self, until: Callable[[], bool] | None = None) -> int:
        """Block until stopped (or `until()` is true); restart children that die."""
        if until is None:
            signal.signal(signal.SIGINT, self._on_signal)
            signal.signal(signal.SIGTERM, self._on_signal)
        while not self._stopping and not (until is not None and until()):
            for service in self.services:
                self._look_after(service)
            time.sleep(0.2)
        self.stop_all()
        return 0

    def _look_after(self, service: Service) -> None:
        process = service.process
        now = time.monotonic()
        if service.retry_at:
            if now >= service.retry_at:
                service.retry_at = 0.0
                self.echo(f"trying {service.name} again")
                service.start()
            return
        if process is None or process.poll() is None:
            return
        self.echo(
            f"{service.name} died (exit code {process.returncode}); "
            f"last lines of {service.log_path}:\n{service.log_tail()}"
        )
        service.stop()  # whatever the child left behind in its process group
        if self.metrics_dir is not None:
            metrics.forget_process(process.pid, self.metrics_dir)
        while service.restarts and now - service.restarts[0] > self.window_s:
            service.restarts.popleft()
        if not service.restarts:
            service.failures = 0  # it stayed up for a whole window: forget old pauses
        if len(service.restarts) >= self.max_restarts:
            pause = min(self.first_backoff_s * 2**service.failures, self.max_backoff_s)
            service.failures += 1
            service.restarts.clear()
            service.retry_at = now + pause
            self.echo(
                f"{service.name} died {self.max_restarts} times in {self.window_s:.0f} s; "
                f"the rest of the desk keeps running; trying {service.name} again in "
                f"{pause:.0f} s (log: {service.log_path})"
            )
            return
        service.restarts.append(now)
        self.echo(f"restarting {service.name}")
        service.start()

    def stop_all(self) -> None:
        for service in reversed(self.services):
            if service.process is not None and service.process.poll() is None:
                self.echo(f"stopping {service.name}")
            service.stop()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True
