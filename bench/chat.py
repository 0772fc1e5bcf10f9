"""Chat speed side by side: the desk against a stock Rasa bot on the same machine, in one run.

The stock bot is what `rasa init --no-prompt` makes in a temporary folder with the desk's
`.venv-rasa` (left exactly as made), served by `rasa run` on a free port through its REST
channel. The desk is started as `make run` starts it (tests/support/stack.py: free ports,
a throw-away SQLite database) and spoken to through `POST /api/v1/conversations/{id}/
messages`. Both get the same conversation:

    hi / which matches are on this weekend? / how much are tickets? / can I bring a flag? /
    thanks, bye

Closed loop: N fans each send the five messages one after another (the next when the
answer came), then start again as a new fan, for `--seconds`. The sides alternate (stock,
desk, stock, desk ...) at each fan count, `--rounds` times, and the medians are reported.
CPU per message is the CPU time (user + system, from /proc) each side's server processes
used during a run, divided by the messages answered: for the desk per process (gateway,
Rasa, action server). Writes bench/results/chat.json.

    .venv/bin/python bench/chat.py [--fans 10,50] [--seconds 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import free_port  # noqa: E402
from tests.support.stack import Stack, running_desk  # noqa: E402

CONVERSATION = [
    "hi",
    "which matches are on this weekend?",
    "how much are tickets?",
    "can I bring a flag?",
    "thanks, bye",
]
RASA_VENV = ROOT / ".venv-rasa" / "bin"
RESULTS = ROOT / "bench" / "results"
TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


# --- CPU of process trees, from /proc ---------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _role(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    line = b" ".join(argv).decode(errors="replace")
    if "components.server" in line:
        return "rasa"
    if "actions.server" in line or "rasa_sdk" in line:
        return "actions"
    if "bot serve" in line or "uvicorn" in line:
        return "gateway"
    if "rasa run" in line or "rasa" in Path(argv[0].decode(errors="replace")).name:
        return "rasa"
    return None


def cpu_by_role(root: int) -> dict[str, float]:
    """CPU seconds so far of each server process under `root`, by role; a process whose
    parent has the same role (a forked worker) counts with it."""
    totals: dict[str, float] = {}
    for pid in _tree(root):
        role = _role(pid)
        if role is not None:
            totals[role] = totals.get(role, 0.0) + _cpu_s(pid)
    return totals


# --- the two sides ------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    url: str
    headers: dict[str, str]
    root_pid: int
    post_for: str  # "desk" or "stock": how a message is sent
    results: dict[int, list[dict[str, float]]] = field(default_factory=dict)

    async def send(self, client: httpx.AsyncClient, fan: str, text: str) -> None:
        if self.post_for == "desk":
            response = await client.post(
                f"{self.url}/api/v1/conversations/{fan}/messages",
                json={"text": text},
                headers=self.headers,
            )
            response.raise_for_status()
            # 202: "one moment", the answer still coming; only an answer counts.
            assert response.status_code == 200, response.text
            assert response.json()["replies"], response.text
        else:
            response = await client.post(
                f"{self.url}/webhooks/rest/webhook", json={"sender": fan, "message": text}
            )
            response.raise_for_status()
            assert response.json(), response.text


@contextmanager
def stock_bot(workdir: Path) -> Iterator[Side]:
    """A bot exactly as `rasa init --no-prompt` makes it, served by `rasa run`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(
        [str(RASA_VENV / "rasa"), "init", "--no-prompt"],
        cwd=workdir, env=env, check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    log = (workdir / "rasa.log").open("wb")
    process = subprocess.Popen(
        [str(RASA_VENV / "rasa"), "run", "--port", str(port), "--interface", "127.0.0.1"],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/status", timeout=2).status_code in (200, 401, 403):
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError((workdir / "rasa.log").read_text()[-3000:])
            time.sleep(1)
        side = Side("stock", url, {}, process.pid, "stock")
        with httpx.Client(timeout=60) as client:  # warm: the first message loads lazily
            client.post(f"{url}/webhooks/rest/webhook", json={"sender": "warm", "message": "hi"})
        yield side
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def desk_side(stack: Stack) -> Side:
    return Side("desk", stack.base_url, stack.headers, stack.process.pid, "desk")


# --- closed loop ---------------------------------------------------------------------------


async def closed_loop(side: Side, fans: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=fans, max_keepalive_connections=fans)

    async def fan(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            who = f"chat-bench-{uuid.uuid4().hex[:12]}"
            for text in CONVERSATION:
                t0 = time.perf_counter()
                try:
                    await side.send(client, who, text)
                except (httpx.HTTPError, AssertionError):
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                if time.perf_counter() >= stop:
                    return

    before = cpu_by_role(side.root_pid)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(fan(client) for _ in range(fans)))
    elapsed = time.perf_counter() - started
    after = cpu_by_role(side.root_pid)
    count = max(1, len(latencies))
    result = {
        "messages": len(latencies),
        "errors": errors,
        "messages_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else 0.0,
        "p99_ms": round(percentile(latencies, 99), 1) if latencies else 0.0,
        "cpu_ms_per_message": round(1000 * (sum(after.values()) - sum(before.values())) / count, 1),
    }
    for role in sorted(after):
        spent = after[role] - before.get(role, 0.0)
        result[f"cpu_ms_per_message_{role}"] = round(1000 * spent / count, 1)
    return result


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = sorted({k for run in runs for k in run})
    return {k: round(statistics.median(run.get(k, 0.0) for run in runs), 1) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fans", default="10,50", help="fan counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per side and fan count")
    parser.add_argument("--output", default=str(RESULTS / "chat.json"))
    args = parser.parse_args()
    counts = [int(n) for n in args.fans.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        stock_dir, desk_dir = Path(tmp) / "stock", Path(tmp) / "desk"
        stock_dir.mkdir()
        desk_dir.mkdir()
        with stock_bot(stock_dir) as stock, running_desk(desk_dir) as stack:
            desk = desk_side(stack)
            for side in (stock, desk):  # warm both: caches, lazy imports, the first turn
                asyncio.run(closed_loop(side, 2, 5))
            for fans in counts:
                for round_ in range(args.rounds):
                    for side in (stock, desk) if round_ % 2 == 0 else (desk, stock):
                        run = asyncio.run(closed_loop(side, fans, args.seconds))
                        side.results.setdefault(fans, []).append(run)
                        print(f"{side.name:5} {fans:3} fans: {json.dumps(run)}", flush=True)
        shutil.rmtree(stock_dir, ignore_errors=True)
    report: dict[str, object] = {
        "conversation": CONVERSATION,
        "seconds_per_run": args.seconds,
        "rounds": args.rounds,
        "machine": {"cpus": os.cpu_count()},
    }
    for fans in counts:
        stock_median, desk_median = median_of(stock.results[fans]), median_of(desk.results[fans])
        report[f"{fans}_fans"] = {
            "stock": stock_median,
            "desk": desk_median,
            "runs": {"stock": stock.results[fans], "desk": desk.results[fans]},
            "desk_over_stock_messages_per_s": round(
                desk_median["messages_per_s"] / max(0.1, stock_median["messages_per_s"]), 2
            ),
        }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k.endswith("_fans")}, indent=2))


if __name__ == "__main__":
    main()
