"""The desk's metrics: the helpers count what they say, and under `desk run` the values
of several processes add up in one page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import metrics
from core.settings import ROOT
from tests.support.metrics import sample, scraped


def test_messages_are_counted_per_channel() -> None:
    before_in, before_out = (
        sample("matchday_messages_in_total", channel="api"),
        sample("matchday_messages_out_total", channel="api"),
    )
    other = sample("matchday_messages_in_total", channel="telegram")
    metrics.messages_in("api")
    metrics.messages_out("api", 3)
    metrics.messages_out("api", 0)  # a turn without replies
    assert sample("matchday_messages_in_total", channel="api") == before_in + 1
    assert sample("matchday_messages_out_total", channel="api") == before_out + 3
    assert sample("matchday_messages_in_total", channel="telegram") == other


def test_a_stage_is_timed_into_buckets_from_5_ms_to_30_s() -> None:
    assert metrics.BUCKETS[0] == 0.005 and metrics.BUCKETS[-1] == 30.0
    count = sample("matchday_stage_seconds_count", stage="rasa")
    fast = sample("matchday_stage_seconds_bucket", stage="rasa", le="0.01")
    metrics.observe_stage("rasa", 0.007)
    metrics.observe_stage("rasa", 3.0)
    assert sample("matchday_stage_seconds_count", stage="rasa") == count + 2
    assert sample("matchday_stage_seconds_bucket", stage="rasa", le="0.01") == fast + 1


def test_timed_records_the_block_even_when_it_fails() -> None:
    count = sample("matchday_stage_seconds_count", stage="gateway")
    total = sample("matchday_stage_seconds_sum", stage="gateway")
    with metrics.timed("gateway"):
        pass
    with pytest.raises(RuntimeError), metrics.timed("gateway"):
        raise RuntimeError("the assistant is down")
    assert sample("matchday_stage_seconds_count", stage="gateway") == count + 2
    assert sample("matchday_stage_seconds_sum", stage="gateway") >= total


def test_an_unknown_stage_is_refused_rather_than_recorded() -> None:
    with pytest.raises(ValueError, match="stage"):
        metrics.observe_stage("gatway", 0.1)
    with pytest.raises(ValueError, match="stage"), metrics.timed("nlu"):
        pass
    assert sample("matchday_stage_seconds_count", stage="gatway") == 0


def test_queue_lengths_and_open_sockets_are_gauges() -> None:
    metrics.set_queue_length("rasa_inflight", 4)
    assert sample("matchday_queue_length", queue="rasa_inflight") == 4
    metrics.set_queue_length("rasa_inflight", 0)
    assert sample("matchday_queue_length", queue="rasa_inflight") == 0
    before = sample("matchday_websocket_sessions", kind="widget")
    with metrics.open_socket("widget"), metrics.open_socket("widget"):
        assert sample("matchday_websocket_sessions", kind="widget") == before + 2
    with pytest.raises(OSError), metrics.open_socket("widget"):
        raise OSError("the socket broke")
    assert sample("matchday_websocket_sessions", kind="widget") == before


def test_long_reasons_are_cut_so_labels_stay_few() -> None:
    reason = "r" * 100
    metrics.count_refusal(reason)
    assert sample("matchday_refusals_total", reason="r" * metrics.MAX_LABEL) >= 1
    assert sample("matchday_refusals_total", reason=reason) == 0


def test_the_page_is_prometheus_text_or_openmetrics_on_request() -> None:
    metrics.messages_in("web")
    body, content_type = metrics.exposition(None)
    assert content_type.startswith("text/plain")
    page = body.decode()
    assert "# TYPE matchday_messages_in_total counter" in page
    assert scraped(page, "matchday_messages_in_total", channel="web") >= 1
    for name in ("stage_seconds", "queue_length", "escalations", "holds", "orders", "refusals"):
        assert f"# HELP matchday_{name}" in page, name
    body, content_type = metrics.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")


# --- several processes -------------------------------------------------------------------

CHILD = """
import os, sys
from core import metrics
metrics.messages_in("api")
metrics.observe_stage("actions", 0.02)
if sys.argv[1] == "crash":
    with metrics.open_socket("widget"):
        os._exit(0)  # dies with the socket open, as a killed process does
with metrics.open_socket("widget"):
    pass
"""
SCRAPE = "from core import metrics; print(metrics.exposition()[0].decode())"


def _in_process(directory: Path, code: str, *args: str) -> str:
    env = {**os.environ, metrics.MULTIPROC_VARIABLE: str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_processes_sharing_a_directory_add_up_and_a_dead_ones_open_sockets_are_dropped(
    tmp_path: Path,
) -> None:
    directory = metrics.fresh_multiprocess_dir(tmp_path / "metrics", pid=os.getpid())
    _in_process(directory, CHILD, "ok")
    _in_process(directory, CHILD, "crash")
    page = _in_process(directory, SCRAPE)
    assert scraped(page, "matchday_messages_in_total", channel="api") == 2
    assert scraped(page, "matchday_stage_seconds_count", stage="actions") == 2
    assert scraped(page, "matchday_websocket_sessions", kind="widget") == 1  # the crashed one's
    for pid in {int(p.stem.rsplit("_", 1)[1]) for p in directory.glob("gauge_livesum_*.db")}:
        metrics.forget_process(pid, directory)
    page = _in_process(directory, SCRAPE)
    assert scraped(page, "matchday_websocket_sessions", kind="widget") == 0
    assert scraped(page, "matchday_messages_in_total", channel="api") == 2  # counters stay


def test_each_run_gets_an_empty_directory_and_dead_runs_are_cleared(tmp_path: Path) -> None:
    parent = tmp_path / "metrics"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (parent / str(dead.pid)).mkdir(parents=True)  # a run whose supervisor is gone
    (parent / str(os.getppid())).mkdir()  # a run still going (our parent lives)
    (parent / "notes").mkdir()  # not a run's: left alone
    mine = metrics.fresh_multiprocess_dir(parent)
    (mine / "counter_1.db").write_bytes(b"old")
    again = metrics.fresh_multiprocess_dir(parent)
    assert again == mine == parent / str(os.getpid())
    assert list(again.iterdir()) == []
    assert not (parent / str(dead.pid)).exists()
    assert (parent / str(os.getppid())).is_dir() and (parent / "notes").is_dir()


def test_without_a_directory_the_process_keeps_its_metrics_in_memory() -> None:
    assert metrics.multiprocess_dir() is None
    assert metrics.registry() is metrics.REGISTRY
