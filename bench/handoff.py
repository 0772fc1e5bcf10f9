"""Human handoff: how fast an escalation reaches an agent, and what the router escalates.

1. Latency: an agent is signed in with the console's WebSocket open; fans ask for a
   person (`/human`, handled by the desk without the assistant). Measured from the
   fan's request to (a) the WebSocket `queue` event and (b) the conversation showing
   up in `GET /api/v1/agent/queue` (polled). Reported as p50/p95/max in ms.
2. Router: every text of a JSONL file (`{"text": ..., "language"?: ...}` per line)
   is classified by the Rasa NLU (`/model/parse` of a running desk when `--rasa-url`
   is given) and run through the router as a conversation's first turn and as a
   second turn after a miss; counts per reason are reported.

    .venv/bin/python bench/handoff.py [--escalations 100] [--texts FILE.jsonl]
        [--rasa-url http://127.0.0.1:5005 --rasa-token $MATCHDAY_RASA_TOKEN]

Writes bench/results/handoff.json. The gateway runs in-process on a throw-away
SQLite database; the latency part needs no Rasa.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.handoff.agents import create_agent
from bot.handoff.policy import load_policy
from bot.handoff.router import Signals, decide
from bot.rasa.auth import RasaAuth
from core.db import engine_for, make_sessionmaker
from knowledge.language import detect_language
from tests.conftest import TEST_API_KEY, make_settings
from tests.support.databases import migrated
from tests.support.server import free_port, live_gateway

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_TEXTS = Path(__file__).resolve().parent / "data" / "handoff_texts.jsonl"
PASSWORD = "bench password 0123"
MISS_TURN: dict[str, Any] = {"intent": "nlu_fallback", "confidence": 0.4, "miss": True}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "count": len(values_ms),
        "p50_ms": round(statistics.median(values_ms), 1),
        "p95_ms": round(percentile(values_ms, 95), 1),
        "max_ms": round(max(values_ms), 1),
    }


def latency(escalations: int) -> dict[str, Any]:
    """Escalation → agent sees it (WebSocket event, and queue API polling)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-handoff-"))
    url = migrated(f"sqlite:///{workdir / 'desk.db'}")
    # No Rasa is needed: `/human` never reaches the assistant.
    settings = make_settings(url, MATCHDAY_RASA_PORT=str(free_port()))
    create_agent(make_sessionmaker(engine_for(url)), "bench", PASSWORD, "agent")
    ws_ms: list[float] = []
    api_ms: list[float] = []
    with live_gateway(settings) as base:
        token = httpx.post(
            f"{base}/api/v1/agent/session", json={"username": "bench", "password": PASSWORD}
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        fan_headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
        ws = base.replace("http://", "ws://") + "/api/v1/agent/ws"
        with connect(ws, additional_headers=auth) as socket, httpx.Client(base_url=base) as http:
            socket.recv(10)  # hello
            for _ in range(escalations):
                fan = f"bench-{uuid.uuid4().hex[:10]}"
                seen_api: list[float] = []
                started = time.perf_counter()

                def poll(
                    fan: str = fan, started: float = started, seen: list[float] = seen_api
                ) -> None:
                    with httpx.Client(base_url=base, headers=auth) as agent:
                        while True:
                            rows = agent.get("/api/v1/agent/queue").json()["conversations"]
                            if any(r["id"] == fan for r in rows):
                                seen.append((time.perf_counter() - started) * 1000)
                                return

                poller = threading.Thread(target=poll)
                poller.start()
                response = http.post(
                    f"/api/v1/conversations/{fan}/messages",
                    json={"text": "/human"},
                    headers=fan_headers,
                )
                assert response.json()["status"] == "queued", response.text
                while True:
                    event = json.loads(socket.recv(10))
                    if event["type"] == "queue" and event["conversation_id"] == fan:
                        ws_ms.append((time.perf_counter() - started) * 1000)
                        break
                poller.join(30)
                api_ms.extend(seen_api)
                http.post(
                    f"/api/v1/agent/conversations/{fan}/claim", headers=auth
                )  # keep the queue short, as agents would
                while json.loads(socket.recv(10))["type"] != "queue":
                    pass
    return {"websocket_event": summary(ws_ms), "queue_api_poll": summary(api_ms)}


def _parse(rasa_url: str | None, token: str, text: str) -> tuple[str | None, float | None]:
    if rasa_url is None:
        return None, None
    response = httpx.post(f"{rasa_url}/model/parse", json={"text": text}, auth=RasaAuth(token))
    response.raise_for_status()
    intent = response.json().get("intent") or {}
    return intent.get("name"), intent.get("confidence")


def router_counts(path: Path, rasa_url: str | None, token: str) -> dict[str, Any]:
    """Counts per escalation reason over the texts of a JSONL file."""
    policy = load_policy()
    first: Counter[str] = Counter()
    second: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        text = str(row.get("text") or row.get("message") or "")
        if not text:
            continue
        total += 1
        language = row.get("language") or detect_language(text)
        intent, confidence = _parse(rasa_url, token, text)
        signals = Signals(text, language, intent, confidence)
        reason = decide(policy, signals, []).reason or "none"
        first[reason] += 1
        examples.setdefault(reason, [])
        if len(examples[reason]) < 5:
            examples[reason].append(text)
        second[decide(policy, signals, [MISS_TURN]).reason or "none"] += 1
    return {
        "texts": total,
        "nlu": "rasa /model/parse" if rasa_url else "none (keywords and sentiment only)",
        "first_turn": dict(first.most_common()),
        "after_a_miss": dict(second.most_common()),
        "examples": examples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--escalations", type=int, default=100)
    parser.add_argument("--texts", type=Path, default=DEFAULT_TEXTS)
    parser.add_argument("--rasa-url", default=None)
    parser.add_argument("--rasa-token", default="")
    args = parser.parse_args()
    results = {
        "escalation_to_agent": latency(args.escalations),
        "router": {
            "source": str(args.texts),
            **router_counts(args.texts, args.rasa_url, args.rasa_token),
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "handoff.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
