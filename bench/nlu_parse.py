"""Parse JSONL texts with a trained NLU model; runs in the Rasa environment (Python 3.10).

    .venv-rasa/bin/python bench/nlu_parse.py MODEL.tar.gz OUT.json FILE.jsonl...

Writes, per file, each line's top intent, confidence and runner-ups, plus the CPU
time and wall time per parse (sequential, one process). `bench/nlu_pipelines.py`
turns these into routes; nothing here trains on or stores the texts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def _parse(model: str, files: dict[str, list[dict[str, str]]]) -> dict[str, object]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    await agent.parse_message("warm up")
    results: dict[str, object] = {}
    for name, rows in files.items():
        predictions, latencies = [], []
        cpu_started = time.process_time()
        for row in rows:
            started = time.perf_counter()
            parsed = await agent.parse_message(row["text"])
            latencies.append((time.perf_counter() - started) * 1000)
            predictions.append(
                {
                    "intent": parsed["intent"],
                    "intent_ranking": parsed.get("intent_ranking", [])[:3],
                    "group": "/".join(str(row.get(k, "")) for k in ("service", "active_intent")),
                }
            )
        results[name] = {
            "predictions": predictions,
            "cpu_ms_per_parse": (time.process_time() - cpu_started) / len(rows) * 1000,
            "latency_ms": {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95)},
        }
    return results


def main(model: str, out: str, names: list[str]) -> None:
    files = {
        Path(name).name: [
            json.loads(line) for line in Path(name).read_text("utf-8").splitlines() if line
        ]
        for name in names
    }
    results = asyncio.run(_parse(model, files))
    Path(out).write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
