"""Latency of a fan's widget message: sent over the widget WebSocket → conversation
service → Rasa → actions → the reply frames and the ack back on the socket.

Starts the desk as `make run` does (free ports, throw-away SQLite database), opens
widget sessions as a page from an allowed origin would, sends messages one after
another and then from concurrent widgets, and writes bench/results/widget.json with
p50/p95/p99, the gateway's CPU time per message (less noisy than wall time on a busy
machine) and the load average.

    .venv/bin/python bench/widget.py [--messages 100] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.stack import Stack, running_desk

ORIGIN = "https://bench.example"
TEXTS = [
    "hi",
    "which matches are on this weekend?",
    "how much are tickets in category 1?",
    "你好",
    "这周末有什么比赛？",
    "can I bring a flag?",
    "what time do the gates open?",
    "thanks!",
]
RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


def gateway_pid(stack: Stack) -> int:
    supervisor = stack.process.pid
    for pid in Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split():
        if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
            return int(pid)
    raise RuntimeError("no gateway process found")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Widget:
    """One widget: a session and its socket."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.socket: ClientConnection | None = None
        self.sent = 0

    async def open(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/widget/sessions", headers={"Origin": ORIGIN})
        response.raise_for_status()
        url = self.stack.base_url.replace("http", "ws", 1) + "/api/v1/widget/ws"
        self.socket = await connect(url, origin=ORIGIN)  # type: ignore[arg-type]
        await self.socket.send(json.dumps({"type": "hello", "token": response.json()["token"]}))
        assert json.loads(await self.socket.recv())["type"] == "welcome"

    async def say(self, text: str) -> float:
        """Milliseconds from sending to the ack (the replies arrive before it)."""
        assert self.socket is not None
        self.sent += 1
        frame_id = f"bench-{self.sent}"
        t0 = time.perf_counter()
        await self.socket.send(json.dumps({"type": "message", "id": frame_id, "text": text}))
        replies = 0
        while True:
            frame: dict[str, Any] = json.loads(await self.socket.recv())
            if frame["type"] == "message" and frame["message"]["sender"] != "fan":
                replies += 1
            elif frame["type"] == "error":
                raise RuntimeError(f"refused: {frame}")
            elif frame["type"] == "ack" and frame["id"] == frame_id:
                break
        elapsed = (time.perf_counter() - t0) * 1000
        if not replies:
            raise RuntimeError(f"no reply to {text!r}")
        return elapsed

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()


async def sender(widget: Widget, turns: range, latencies: list[float]) -> None:
    for i in turns:
        latencies.append(await widget.say(TEXTS[i % len(TEXTS)]))


async def run(stack: Stack, count: int, senders: int) -> dict[str, Any]:
    pid = gateway_pid(stack)
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as client:
        # Ten widgets take turns, so none trips the per-socket flood limit (10 at once).
        pool = max(10, senders)
        for name, at_once in (("sequential", 1), (f"concurrent_{senders}", senders)):
            widgets = [Widget(stack) for _ in range(pool)]
            for widget in widgets:
                await widget.open(client)
            if name == "sequential":
                for text in TEXTS:  # warm-up
                    await widgets[-1].say(text)
            latencies: list[float] = []
            cpu0, started = cpu_s(pid), time.perf_counter()
            if at_once == 1:
                for i in range(count):
                    latencies.append(await widgets[i % pool].say(TEXTS[i % len(TEXTS)]))
            else:
                await asyncio.gather(
                    *(sender(w, range(i, count, pool), latencies) for i, w in enumerate(widgets))
                )
            seconds, cpu = time.perf_counter() - started, cpu_s(pid) - cpu0
            for widget in widgets:
                await widget.close()
            results[name] = {
                "messages": len(latencies),
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(percentile(latencies, 95), 1),
                "p99_ms": round(percentile(latencies, 99), 1),
                "messages_per_s": round(len(latencies) / seconds, 1),
                "gateway_cpu_ms_per_message": round(cpu * 1000 / len(latencies), 1),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    env = {"MATCHDAY_WIDGET_ORIGINS": ORIGIN}
    with tempfile.TemporaryDirectory() as tmp, running_desk(Path(tmp), extra_env=env) as stack:
        result = asyncio.run(run(stack, args.messages, args.concurrency))
    result["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "widget.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
