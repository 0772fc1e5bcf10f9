"""Latency of a fan message through the gateway (REST API → Rasa → actions → reply).

Starts the desk as `make run` does (free ports, throw-away SQLite database), sends
messages one after another and then from concurrent senders, and writes
bench/results/gateway.json.

    .venv/bin/python bench/gateway.py [--messages 200] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.stack import Stack, running_desk

TEXTS = [
    "hi",
    "which matches are on this weekend?",
    "how much are tickets in category 1?",
    "你好",
    "这周末有什么比赛？",
    "can I bring a flag?",
    "what's the weather in Paris",
    "thanks!",
]
RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


def summary(latencies_ms: list[float], seconds: float) -> dict[str, float]:
    return {
        "messages": len(latencies_ms),
        "p50_ms": round(statistics.median(latencies_ms), 1),
        "p95_ms": round(percentile(latencies_ms, 95), 1),
        "p99_ms": round(percentile(latencies_ms, 99), 1),
        "messages_per_s": round(len(latencies_ms) / seconds, 1),
    }


def sequential(stack: Stack, count: int) -> dict[str, float]:
    latencies = []
    started = time.perf_counter()
    with stack.client() as client:
        for i in range(count):
            t0 = time.perf_counter()
            response = client.post(
                f"/api/v1/conversations/bench-seq-{i % 20}/messages",
                json={"text": TEXTS[i % len(TEXTS)]},
            )
            response.raise_for_status()
            latencies.append((time.perf_counter() - t0) * 1000)
    return summary(latencies, time.perf_counter() - started)


async def concurrent(stack: Stack, count: int, senders: int) -> dict[str, float]:
    latencies: list[float] = []

    async def sender(index: int, client: httpx.AsyncClient) -> None:
        for i in range(index, count, senders):
            t0 = time.perf_counter()
            response = await client.post(
                f"/api/v1/conversations/bench-con-{index}/messages",
                json={"text": TEXTS[i % len(TEXTS)]},
            )
            response.raise_for_status()
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers=stack.headers, timeout=120
    ) as client:
        await asyncio.gather(*(sender(i, client) for i in range(senders)))
    return summary(latencies, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_desk(Path(tmp)) as stack:
        sequential(stack, 10)  # warm-up
        result = {
            "sequential": sequential(stack, args.messages),
            f"concurrent_{args.concurrency}": asyncio.run(
                concurrent(stack, args.messages, args.concurrency)
            ),
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gateway.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
