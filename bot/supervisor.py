"""Runs the desk's three processes together and keeps them running.

`make run` ends here: the Rasa server, the action server and the gateway start as
children, each logging to `var/log/<name>.log`. A child that dies is reported with
the tail of its log and restarted, up to a limit; Ctrl-C stops everything.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx


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
    process: subprocess.Popen[bytes] | None = None
    restarts: deque[float] = field(default_factory=deque)

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
            # Ctrl-C reaches the supervisor only; it stops the children in order.
            start_new_session=True,
        )
        log.close()

    def is_ready(self) -> bool:
        try:
            return httpx.get(self.ready_url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 30) -> str:
        try:
            with self.log_path.open("rb") as f:
                return b"".join(deque(f, maxlen=lines)).decode(errors="replace")
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


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
        echo: Callable[[str], None] = print,
    ) -> None:
        self.services = services
        self.max_restarts = max_restarts
        self.window_s = window_s
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

    def watch(self) -> int:
        """Block until stopped; restart children that die. Returns the exit code."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        while not self._stopping:
            for service in self.services:
                process = service.process
                if process is None or process.poll() is None:
                    continue
                self.echo(
                    f"{service.name} died (exit code {process.returncode}); "
                    f"last lines of {service.log_path}:\n{service.log_tail()}"
                )
                now = time.monotonic()
                while service.restarts and now - service.restarts[0] > self.window_s:
                    service.restarts.popleft()
                if len(service.restarts) >= self.max_restarts:
                    self.echo(
                        f"{service.name} died {self.max_restarts} times in "
                        f"{self.window_s:.0f} s; stopping the desk."
                    )
                    self.stop_all()
                    return 1
                service.restarts.append(now)
                self.echo(f"restarting {service.name}")
                service.start()
            time.sleep(0.5)
        self.stop_all()
        return 0

    def stop_all(self) -> None:
        for service in reversed(self.services):
            if service.process is not None and service.process.poll() is None:
                self.echo(f"stopping {service.name}")
            service.stop()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True


def python_executable() -> str:
    """The interpreter of the desk's own environment."""
    return sys.executable
