import socket
import sys
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


def test_a_child_that_keeps_dying_stops_the_desk_with_its_log(tmp_path: Path) -> None:
    said: list[str] = []
    service = _service(tmp_path, "print('boom: bad config'); raise SystemExit(3)")
    supervisor = Supervisor([service], max_restarts=2, window_s=60, echo=said.append)
    service.start()
    assert supervisor.watch() == 1
    assert sum("restarting child" in s for s in said) == 2
    assert any("boom: bad config" in s and "exit code 3" in s for s in said)


def test_a_child_dying_at_start_is_reported(tmp_path: Path) -> None:
    service = _service(tmp_path, "print('cannot start'); raise SystemExit(2)")
    supervisor = Supervisor([service], echo=lambda _: None)
    with pytest.raises(RuntimeError, match="cannot start"):
        supervisor.start_all(ready_timeout_s=20)
