"""Does the desk take real questions as its own and decline the rest? Writes results/domain.json.

Every line of the blind sets (bench/data/domain_blind/: questions in English and
Chinese, a quarter of the Chinese in traditional characters, and out-of-domain
messages that share words with the domain, written from themes only by people who
never saw the training data) and of the public dev sets (../shared/eval-dev/:
CLINC150 out-of-scope, SGD event-ticket turns) is sent to a running desk's
`POST /api/v1/triage`. Reported per set:

- in-domain sets: the share *in scope* (route `intent`, `faq`, `clarify` or `handoff`);
- out-of-domain sets (and CLINC): the share *rejected* (route `out_of_scope`);
- SGD: the share given a ticket topic;
- the domain score's ROC AUC (in-domain vs out-of-domain blind lines, per language);
- triage latency p50/p95 as the client saw it.

Nothing here trains or tunes anything: these sets are scored once a change is done.
The domain detector's threshold is chosen on the training data
(`.venv-rasa/bin/python bench/domain_calibrate.py`).

    .venv/bin/python bench/domain.py [--url http://127.0.0.1:8000] [--label before] [--split tuning]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import get_settings  # noqa: E402
from knowledge.topics import TICKET_TOPICS  # noqa: E402

BLIND = ROOT / "bench" / "data" / "domain_blind"
# The same kinds of lines, written apart by another helper, for tuning and calibration:
# choices are made on these, the blind sets only score them.
TUNING = ROOT / "bench" / "data" / "domain_dev"
DEV = ROOT.parent / "shared" / "eval-dev"
IN_SCOPE = {"intent", "faq", "clarify", "handoff"}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _auc(positives: list[float], negatives: list[float]) -> float | None:
    """P(a random in-domain line scores above a random out-of-domain one); ties half."""
    if not positives or not negatives:
        return None
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average = (i + j + 1) / 2  # 1-based average rank of the tie group
        rank_sum += average * sum(1 for k in range(i, j) if ranked[k][1] == 1)
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def run(url: str, key: str, folder: Path = BLIND) -> dict[str, Any]:
    sets: dict[str, list[dict[str, Any]]] = {
        name: _lines(folder / f"{name}.jsonl") for name in ("en_in", "zh_in", "en_out", "zh_out")
    }
    if DEV.is_dir():
        sets["clinc_oos_dev"] = _lines(DEV / "clinc_oos_dev.jsonl")
        sets["sgd_events_dev"] = _lines(DEV / "sgd_events_dev.jsonl")
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    results: dict[str, Any] = {}
    scores: dict[str, list[float]] = defaultdict(list)
    misses: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for name, lines in sets.items():
            routes: Counter[str] = Counter()
            ticket_topic = 0
            groups: dict[str, Counter[str]] = defaultdict(Counter)
            for line in lines:
                started = time.perf_counter()
                response = client.post("/api/v1/triage", json={"text": line["text"]})
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                body = response.json()
                route = body["route"]
                routes[route] += 1
                ticket_topic += body["topic"] in TICKET_TOPICS
                if body.get("domain") is not None:
                    scores[name].append(float(body["domain"]))
                for group in (line.get("script"), f"offered={line.get('offered')}"):
                    if group and "None" not in group:
                        groups[group][route] += 1
                wanted_in = name.endswith("_in") or name == "sgd_events_dev"
                if (route in IN_SCOPE) != wanted_in:
                    misses[name].append(
                        {"text": line["text"], "route": route, "intent": body["intent"]}
                    )
            total = sum(routes.values())
            results[name] = {
                "lines": total,
                "routes": dict(routes),
                "in_scope": round(sum(routes[r] for r in IN_SCOPE) / total, 4),
                "rejected": round(routes["out_of_scope"] / total, 4),
                "ticket_topic": round(ticket_topic / total, 4),
                "by_group": {
                    group: round(sum(c[r] for r in IN_SCOPE) / sum(c.values()), 4)
                    for group, c in groups.items()
                },
            }
    aucs = {
        language: _auc(scores[f"{language}_in"], scores[f"{language}_out"])
        for language in ("en", "zh")
    }
    ordered = sorted(latencies)
    return {
        "sets": results,
        "domain_auc": aucs,
        "latency_ms": {
            "p50": round(statistics.median(ordered), 1),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        },
        "misses": {name: rows[:40] for name, rows in misses.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default=None, help="API key (default: MATCHDAY_API_KEY)")
    parser.add_argument("--label", default="current")
    parser.add_argument(
        "--split",
        choices=("blind", "tuning"),
        default="blind",
        help="blind: bench/data/domain_blind (scored once a change is done); tuning: "
        "bench/data/domain_dev (for choosing thresholds)",
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "domain.json"))
    args = parser.parse_args()
    report = {"label": args.label, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    folder = BLIND if args.split == "blind" else TUNING
    report.update(run(args.url, args.key or get_settings().api_key, folder))
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = {
        name: (
            r["ticket_topic"]
            if name.startswith("sgd")
            else r["in_scope"]
            if name.endswith("_in")
            else r["rejected"]
        )
        for name, r in report["sets"].items()
    }
    print(json.dumps({"label": args.label, "summary": summary, "auc": report["domain_auc"]}))
    print(json.dumps({n: r["by_group"] for n, r in report["sets"].items() if r["by_group"]}))
    print(json.dumps(report["latency_ms"]))


if __name__ == "__main__":
    main()
