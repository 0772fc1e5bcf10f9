import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from bot.supervisor import PortTaken, Service, Supervisor, check_port_free


def test_a_taken_port_names_the_port_and_its_variable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortTaken) as caught:
            check_port_free(port, "MATCHDAY_PORT")
    assert str(port) in str(caught.value)
    assert "MATCHDAY_PORT" in str(caught.value)


def _service(tmp_path: Path, code: str) -> Service:
    return Service(
        name="child",
        argv=[sys.executable, "-c", code],
        port=0,
        port_variable="X",
        ready_url="http://127.0.0.1:9/never",
        env={},
        log_path=tmp_path / "child.log",
        cwd=tmp_path,
    )


def test_a_child_that_keeps_dying_is_paused_and_the_others_keep_running(tmp_path: Path) -> None:
    said: list[str] = []
    broken = _service(tmp_path, "print('boom: bad config'); raise SystemExit(3)")
    healthy = _service(tmp_path, "import time; time.sleep(60)")
    healthy.name, healthy.log_path = "healthy", tmp_path / "healthy.log"
    supervisor = Supervisor(
        [broken, healthy], max_restarts=2, window_s=60, first_backoff_s=1.0, echo=said.append
    )
    broken.start()
    healthy.start()
    deadline = time.monotonic() + 20
    assert (
        supervisor.watch(until=lambda: "trying child again" in said or time.monotonic() > deadline)
        == 0
    )
    assert sum("restarting child" in s for s in said) == 2
    assert any("boom: bad config" in s and "exit code 3" in s for s in said)
    assert any("the rest of the desk keeps running" in s for s in said)
    assert "trying child again" in said
    assert not any("healthy" in s and "died" in s for s in said)


def test_a_child_is_stopped_with_everything_it_started(tmp_path: Path) -> None:
    # A server whose worker outlives a kill -9 of its parent and keeps the port.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "import os, socket, time\n"
        "if os.fork() == 0:\n"
        "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"    s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)\n"
        "time.sleep(60)\n"
    )
    said: list[str] = []
    service = _service(tmp_path, code)
    supervisor = Supervisor([service], first_backoff_s=60, echo=said.append)
    service.start()
    assert service.process is not None
    _wait_for_listener(port)
    os.kill(service.process.pid, signal.SIGKILL)  # the parent only, as `kill -9 <pid>` does
    supervisor.watch(until=lambda: "restarting child" in said)
    # The orphaned worker went with its group: the port is free for the restart.
    check_port_free(port, "X")


def _wait_for_listener(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def test_a_child_dying_at_start_is_reported(tmp_path: Path) -> None:
    service = _service(tmp_path, "print('cannot start'); raise SystemExit(2)")
    supervisor = Supervisor([service], echo=lambda _: None)
    with pytest.raises(RuntimeError, match="cannot start"):
        supervisor.start_all(ready_timeout_s=20)


def test_a_dead_childs_live_gauges_are_dropped_before_it_is_restarted(tmp_path: Path) -> None:
    # The child records in the shared directory as the gateway does, then dies.
    code = (
        "import os\n"
        "from core import metrics\n"
        "metrics.messages_in('api')\n"
        "with metrics.open_socket('widget'):\n"
        "    os._exit(1)\n"
    )
    directory = tmp_path / "metrics"
    directory.mkdir()
    service = _service(tmp_path, code)
    service.env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    service.cwd = Path(__file__).resolve().parents[2]
    said: list[str] = []
    supervisor = Supervisor([service], echo=said.append, metrics_dir=directory)
    service.start()
    assert service.process is not None
    first = service.process.pid
    service.process.wait(30)
    assert (directory / f"gauge_livesum_{first}.db").exists()
    supervisor.watch(until=lambda: "restarting child" in said)
    assert not (directory / f"gauge_livesum_{first}.db").exists()
    assert (directory / f"counter_{first}.db").exists()  # its counts stay in the totals
    supervisor.stop_all()
