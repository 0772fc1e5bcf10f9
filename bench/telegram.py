"""Latency of a fan's Telegram message: from the update being handed to the bot
(getUpdates returned it) to the reply reaching the Bot API server.

Starts the whole desk with the Telegram channel in polling mode against the
stand-in Bot API server of the tests, sends messages from several fans one after
another (and a burst from concurrent fans), and writes bench/results/telegram.json
with p50/p95 and the machine's load average.

    .venv/bin/python bench/telegram.py [--messages 60] [--concurrency 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.stack import running_desk
from tests.support.telegram_api import BOT_TOKEN, FakeBotApi, fake_bot_api, text_message

TEXTS = [
    "hi",
    "which matches are on this weekend?",
    "how much are tickets in category 1?",
    "你好",
    "这周末有什么比赛？",
    "can I bring a flag?",
    "thanks!",
]
RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def summary(latencies_ms: list[float]) -> dict[str, float]:
    return {
        "messages": len(latencies_ms),
        "p50_ms": round(statistics.median(latencies_ms), 1),
        "p95_ms": round(percentile(latencies_ms, 95), 1),
        "max_ms": round(max(latencies_ms), 1),
    }


def reply_latency(api: FakeBotApi, fan: int, update_id: int, before: int) -> float:
    """Milliseconds from the update's delivery to the first message sent back."""
    first = api.wait_for(
        lambda: (c := api.calls_to(fan, "sendMessage", "sendPhoto")[before:]) and c[0],
        120,
        f"a reply to update {update_id}",
    )
    delivered = api.wait_for(lambda: api.delivered_at.get(update_id), 10, "the delivery")
    return float((first.at - delivered) * 1000)


def run(api: FakeBotApi, count: int, concurrency: int, base_fan: int) -> list[float]:
    """`count` messages from `concurrency` fans at once (each fan waits for its reply)."""
    latencies: list[float] = []
    fans = [base_fan + i for i in range(concurrency)]
    for start in range(0, count, concurrency):
        batch = []
        for offset, fan in enumerate(fans[: count - start]):
            before = len(api.calls_to(fan, "sendMessage", "sendPhoto"))
            text = TEXTS[(start + offset) % len(TEXTS)]
            language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
            batch.append((fan, api.push(text_message(fan, text, language)), before))
        for fan, update_id, before in batch:
            latencies.append(reply_latency(api, fan, update_id, before))
        time.sleep(0.5)  # let multi-message replies finish before the next turn
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=5)
    args = parser.parse_args()
    with fake_bot_api() as api, tempfile.TemporaryDirectory() as tmp:
        env = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_SERVER": api.base_url}
        with running_desk(Path(tmp), extra_env=env):
            api.wait_for(lambda: api.method_calls("getUpdates"), 60, "polling")
            run(api, 5, 1, 900_000)  # warm-up
            load_before = os.getloadavg()
            result = {
                "sequential": summary(run(api, args.messages, 1, 910_000)),
                f"concurrent_{args.concurrency}": summary(
                    run(api, args.messages, args.concurrency, 920_000)
                ),
                "load_average_1_5_15": [round(x, 2) for x in load_before],
                "cpus": os.cpu_count(),
                "measured": "update handed out by getUpdates -> first sendMessage/sendPhoto",
            }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "telegram.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
