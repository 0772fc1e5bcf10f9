"""Compare NLU pipelines: held-out intent macro-F1 per language, entity F1, dev routing, cost.

Each config in bench/pipelines/ (or config.yml with `--current`) is trained on
data/nlu (NLU only) and scored on tests/rasa/nlu_heldout.yml, written apart from
the training data. When the public dev data is there (`--dev`, default
../shared/eval-dev), every line is also parsed by the model and routed as
`/api/v1/triage` would route it without the FAQ retriever: the share of
clinc_oos_dev routed out_of_scope and of sgd_events_dev given a ticket topic,
plus CPU time and latency per parse. Those files are for reporting only: nothing
trains on them. Writes bench/results/nlu_pipelines.json; docs/nlu-pipeline.md
records the outcome.

    .venv/bin/python bench/nlu_pipelines.py [--current] [--keep DIR] [names...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.rasa.environment import RASA_BIN, rasa_env
from bot.rasa.evaluation import entity_f1, intent_scores
from bot.triage import decide_route, resolve_intent
from core.settings import ROOT, get_settings
from knowledge.topics import TICKET_TOPICS

PIPELINES = Path(__file__).resolve().parent / "pipelines"
RESULTS = Path(__file__).resolve().parent / "results"
HELDOUT = ROOT / "tests" / "rasa" / "nlu_heldout.yml"
PARSER = Path(__file__).resolve().parent / "nlu_parse.py"
RASA_PYTHON = RASA_BIN.parent / "python"
DEV_FILES = ("clinc_oos_dev.jsonl", "sgd_events_dev.jsonl")


def default_dev_dir() -> Path:
    for candidate in (
        ROOT.parent / "shared" / "eval-dev",
        ROOT.parent.parent / "shared" / "eval-dev",
    ):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "eval-dev"


def run(*args: str, program: Path = RASA_BIN) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(program), *args], cwd=ROOT, env=rasa_env(get_settings()), check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def dev_routing(parsed: dict[str, Any]) -> dict[str, Any]:
    """Routing rates of one parsed dev file (no FAQ retriever: NLU alone)."""
    routes, topics, groups = [], [], {}
    for prediction in parsed["predictions"]:
        route, topic = decide_route(*resolve_intent(prediction), None)
        routes.append(route)
        topics.append(topic)
        ticket = groups.setdefault(prediction["group"], [])
        ticket.append(topic in TICKET_TOPICS)
    total = len(routes)
    return {
        "lines": total,
        "out_of_scope_rate": round(routes.count("out_of_scope") / total, 4),
        "ticket_topic_rate": round(sum(t in TICKET_TOPICS for t in topics) / total, 4),
        "ticket_topic_rate_by_group": {
            k: round(statistics.mean(v), 4) for k, v in sorted(groups.items()) if len(groups) > 1
        },
        "cpu_ms_per_parse": round(parsed["cpu_ms_per_parse"], 1),
        "latency_ms": {k: round(v, 1) for k, v in parsed["latency_ms"].items()},
    }


def evaluate(config: Path, name: str, workdir: Path, dev: Path) -> dict[str, object]:
    model_dir = workdir / name
    model = model_dir / f"{name}.tar.gz"
    train_s = run(
        "train", "nlu", "-c", str(config), "--nlu", "data/nlu", "--out", str(model_dir),
        "--fixed-model-name", name,
    )  # fmt: skip
    out = model_dir / "results"
    test_s = run(
        "test", "nlu", "--nlu", str(HELDOUT), "--model", str(model), "--out", str(out),
        "--successes", "--no-plot",
    )  # fmt: skip
    scores = intent_scores(out)
    result: dict[str, object] = {
        "config": config.name,
        "intent_macro_f1": {k: round(v.macro_f1, 4) for k, v in scores.items()},
        "intent_accuracy": {k: round(v.accuracy, 4) for k, v in scores.items()},
        "entity_f1": round(entity_f1(out), 4),
        "train_s": round(train_s, 1),
        "test_s": round(test_s, 1),
        "examples": {k: v.examples for k, v in scores.items()},
    }
    files = [dev / f for f in DEV_FILES if (dev / f).exists()]
    if files:
        parsed_file = model_dir / "dev.json"
        run(str(PARSER), str(model), str(parsed_file), *map(str, files), program=RASA_PYTHON)
        parsed = json.loads(parsed_file.read_text(encoding="utf-8"))
        result["dev"] = {k: dev_routing(v) for k, v in parsed.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="configs in bench/pipelines/ (default: all)")
    parser.add_argument("--current", action="store_true", help="score config.yml only")
    parser.add_argument("--dev", type=Path, default=default_dev_dir())
    parser.add_argument("--keep", type=Path, help="keep the trained models here")
    args = parser.parse_args()
    if args.current:
        configs = [(ROOT / "config.yml", "current")]
    else:
        paths = sorted(PIPELINES.glob("*.yml"))
        configs = [(p, p.stem) for p in paths if not args.names or p.stem in args.names]
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / "nlu_pipelines.json"
    results = json.loads(target.read_text()) if target.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        for config, name in configs:
            print(f"==> {name} ({config.name})", flush=True)
            results[name] = evaluate(config, name, workdir, args.dev)
            print(json.dumps(results[name], indent=2), flush=True)
            target.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
