"""The desk's Prometheus metrics, defined once for every process that records them.

The gateway and the action server are separate processes (under `desk run`, several
of them), and each counts what it does itself: the gateway the messages of every
channel, the engine's work for API calls, the handoff queue and the open sockets; the
action server the engine's work for chat purchases and the time of each action call.
So the desk uses prometheus-client's multiprocess mode: `desk run` gives its children
`PROMETHEUS_MULTIPROC_DIR`, a directory of its own run (`fresh_multiprocess_dir`,
under `var/metrics/`), where each process keeps its values in files named by its
pid, and the gateway's `GET /metrics` adds them all up (`exposition`). When the
supervisor restarts a child it drops the dead process's live gauges
(`forget_process`); its counters stay in the sum, so totals never go down. Without
the variable (tests, `desk serve` alone) the metrics live in the process's default
registry.

prometheus-client picks its mode when it is first imported, from the environment,
so the variable must be set before the process starts, as `desk run` does.

What each metric means, and how to scrape them: docs/operations.md.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
STAGES = ("gateway", "rasa", "actions")
# From a cached answer (5 ms) to Rasa's own timeout (30 s).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_LABEL = 32  # a reason or an action name longer than this is cut (as risk_counts does)

MESSAGES_IN = Counter("matchday_messages_in", "Fan messages received, by channel.", ["channel"])
MESSAGES_OUT = Counter(
    "matchday_messages_out", "Replies the desk sent to fans, by channel.", ["channel"]
)
STAGE_SECONDS = Histogram(
    "matchday_stage_seconds",
    "Seconds a fan message spent in each stage: gateway (the whole turn in the gateway, "
    "Rasa included), rasa (the gateway's call to Rasa), actions (one call of the action "
    "server).",
    ["stage"],
    buckets=BUCKETS,
)
ACTION_SECONDS = Histogram(
    "matchday_action_seconds",
    "Seconds the action server took to run each custom action.",
    ["action"],
    buckets=BUCKETS,
)
QUEUE_LENGTH = Gauge(
    "matchday_queue_length",
    "Length of the desk's queues: handoff (fans waiting for a person), callbacks (open "
    "callback requests), rasa_inflight (messages waiting for Rasa's answer).",
    ["queue"],
    multiprocess_mode="livesum",
)
ESCALATIONS = Counter(
    "matchday_escalations",
    "Conversations escalated to a person, by reason and outcome (queued, or no_agent online).",
    ["reason", "outcome"],
)
HOLDS = Counter(
    "matchday_holds",
    "Seat holds by outcome: created, released (by the fan), or the code of the refusal "
    "(sold_out, seat_unavailable, rate_limited...).",
    ["outcome"],
)
ORDERS = Counter(
    "matchday_orders",
    "Orders by what happened to them: paid, declined, pending (the provider did not "
    "answer in time), refunded and exchanged (wholly or partly).",
    ["status"],
)
REFUSALS = Counter(
    "matchday_refusals",
    "Requests refused by the desk's risk controls and budgets, by reason.",
    ["reason"],
)
WEBSOCKET_SESSIONS = Gauge(
    "matchday_websocket_sessions",
    "Open WebSocket sessions: widget (fans' chat widgets), console (agents' consoles).",
    ["kind"],
    multiprocess_mode="livesum",
)


def messages_in(channel: str) -> None:
    """Count a fan message received on `channel` (api, web, telegram)."""
    MESSAGES_IN.labels(channel).inc()


def messages_out(channel: str, n: int = 1) -> None:
    """Count `n` replies sent to a fan on `channel`."""
    if n > 0:
        MESSAGES_OUT.labels(channel).inc(n)


def observe_stage(stage: str, seconds: float) -> None:
    """Record that a message spent `seconds` in `stage` (one of STAGES)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    STAGE_SECONDS.labels(stage).observe(max(0.0, seconds))


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Record the time the block takes as one observation of `stage` (also on errors)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    started = time.perf_counter()
    try:
        yield
    finally:
        observe_stage(stage, time.perf_counter() - started)


def observe_action(action: str, seconds: float) -> None:
    """Record that custom action `action` took `seconds` to run."""
    ACTION_SECONDS.labels(action[:MAX_LABEL]).observe(max(0.0, seconds))


def set_queue_length(queue: str, n: int) -> None:
    """Set the current length of `queue` (handoff, callbacks, rasa_inflight)."""
    QUEUE_LENGTH.labels(queue).set(n)


def count_escalation(reason: str, outcome: str) -> None:
    """Count a conversation escalated for `reason` and what came of it."""
    ESCALATIONS.labels(reason[:MAX_LABEL], outcome).inc()


def count_hold(outcome: str) -> None:
    """Count a hold created, released, or refused (`outcome`: the refusal's code)."""
    HOLDS.labels(outcome[:MAX_LABEL]).inc()


def count_order(status: str, n: int = 1) -> None:
    """Count `n` orders that reached `status`."""
    if n > 0:
        ORDERS.labels(status[:MAX_LABEL]).inc(n)


def count_refusal(reason: str) -> None:
    """Count a request refused for `reason`."""
    REFUSALS.labels(reason[:MAX_LABEL]).inc()


@contextmanager
def open_socket(kind: str) -> Iterator[None]:
    """Count a WebSocket session of `kind` (widget, console) as open for the block."""
    gauge = WEBSOCKET_SESSIONS.labels(kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


# --- multiprocess mode -----------------------------------------------------------------

_DIRECTORY = os.environ.get(MULTIPROC_VARIABLE) or None


def multiprocess_dir() -> Path | None:
    """The directory this process keeps its values in, None when it keeps them in memory."""
    return Path(_DIRECTORY) if _DIRECTORY else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def fresh_multiprocess_dir(parent: Path, pid: int | None = None) -> Path:
    """An empty directory for the metric files of the run of process `pid` (this one by
    default): `parent/<pid>`. Directories of runs whose process is gone are removed."""
    pid = pid or os.getpid()
    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.iterdir():
        if (
            old.is_dir()
            and old.name.isdigit()
            and (int(old.name) == pid or not _alive(int(old.name)))
        ):
            shutil.rmtree(old, ignore_errors=True)
    run = parent / str(pid)
    run.mkdir()
    return run


def forget_process(pid: int, directory: Path) -> None:
    """Drop the live gauges of process `pid`, which has ended (its counters stay)."""
    mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def registry() -> CollectorRegistry:
    """What `GET /metrics` shows: every process's values in multiprocess mode, else this
    process's registry."""
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY
    collected = CollectorRegistry()
    MultiProcessCollector(collected, path=str(directory))  # type: ignore[no-untyped-call]
    return collected


def exposition(accept: str | None = None) -> tuple[bytes, str]:
    """The metrics in the format the scraper's `Accept` header asks for (Prometheus text
    by default, OpenMetrics on request): the body and its content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry()), content_type
