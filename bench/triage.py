"""Run a JSONL of fan texts through `POST /api/v1/triage` and score the routing.

Each line is `{"text": ..., "topic"?: ...}`. Prints and writes (bench/results/)
per-topic accuracy where lines carry a topic, the share of lines routed
`out_of_scope`, the share given one of `--ticket-topics`, and latency.

    # against a running desk (make run):
    .venv/bin/python bench/triage.py ../shared/eval-dev/clinc_oos_dev.jsonl
    # or start a throw-away desk for the run:
    .venv/bin/python bench/triage.py --start FILE...
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import get_settings
from tests.support.stack import running_desk

RESULTS = Path(__file__).resolve().parent / "results"
TICKET_TOPICS = "buy_tickets,match_availability,ticket_prices_categories,seats_sections_views"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def score_file(
    client: httpx.Client, path: Path, ticket_topics: set[str], show: int
) -> dict[str, Any]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    latencies: list[float] = []
    routes: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    per_topic: dict[str, list[bool]] = defaultdict(list)
    ticket_hits = 0
    misses: list[str] = []
    for row in lines:
        started = time.perf_counter()
        response = client.post("/api/v1/triage", json={"text": row["text"]})
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        body = response.json()
        routes[body["route"]] += 1
        topics[body["topic"]] += 1
        if body["topic"] in ticket_topics:
            ticket_hits += 1
        if "topic" in row:
            per_topic[row["topic"]].append(body["topic"] == row["topic"])
        if len(misses) < show:
            misses.append(f"{body['route']:>12} {body['topic']:<26} {row['text']}")
    total = len(lines)
    return {
        "file": path.name,
        "lines": total,
        "routes": dict(routes),
        "topics": dict(topics.most_common()),
        "out_of_scope_rate": round(routes["out_of_scope"] / total, 4),
        "ticket_topic_rate": round(ticket_hits / total, 4),
        "per_topic_accuracy": {t: round(sum(v) / len(v), 4) for t, v in sorted(per_topic.items())},
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(percentile(latencies, 95), 1),
        },
        "sample": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--start", action="store_true", help="start a throw-away desk")
    parser.add_argument("--ticket-topics", default=TICKET_TOPICS)
    parser.add_argument("--show", type=int, default=0, help="print the first N routings")
    args = parser.parse_args()
    ticket_topics = set(args.ticket_topics.split(","))

    def run(base_url: str, api_key: str) -> None:
        headers = {"Authorization": f"Bearer {api_key}"}
        results = []
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            for path in args.files:
                result = score_file(client, path, ticket_topics, args.show)
                results.append(result)
                print(json.dumps({k: v for k, v in result.items() if k != "sample"}, indent=2))
                for line in result["sample"]:
                    print("  ", line)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "triage.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))

    if args.start:
        with tempfile.TemporaryDirectory() as tmp, running_desk(Path(tmp)) as stack:
            run(stack.base_url, stack.api_key)
    else:
        settings = get_settings()
        run(args.base_url or f"http://127.0.0.1:{settings.port}", args.api_key or settings.api_key)


if __name__ == "__main__":
    main()
