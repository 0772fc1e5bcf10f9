"""Compare NLU pipelines on the held-out split: intent macro-F1 per language, entity F1, cost.

Each config in bench/pipelines/ is trained on data/nlu (NLU only) and scored on
tests/rasa/nlu_heldout.yml, written apart from the training data. Writes
bench/results/nlu_pipelines.json; docs/nlu-pipeline.md records the outcome.

    .venv/bin/python bench/nlu_pipelines.py [names...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.rasa.environment import RASA_BIN, rasa_env
from bot.rasa.evaluation import entity_f1, intent_scores
from bot.settings import ROOT, get_settings

PIPELINES = Path(__file__).resolve().parent / "pipelines"
RESULTS = Path(__file__).resolve().parent / "results"
HELDOUT = ROOT / "tests" / "rasa" / "nlu_heldout.yml"


def run(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(RASA_BIN), *args], cwd=ROOT, env=rasa_env(get_settings()), check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def evaluate(config: Path, workdir: Path) -> dict[str, object]:
    model_dir = workdir / config.stem
    train_s = run(
        "train", "nlu", "-c", str(config), "--nlu", "data/nlu", "--out", str(model_dir),
        "--fixed-model-name", config.stem,
    )  # fmt: skip
    out = model_dir / "results"
    test_s = run(
        "test", "nlu", "--nlu", str(HELDOUT), "--model", str(model_dir / f"{config.stem}.tar.gz"),
        "--out", str(out), "--successes", "--no-plot",
    )  # fmt: skip
    scores = intent_scores(out)
    return {
        "config": config.name,
        "intent_macro_f1": {k: round(v.macro_f1, 4) for k, v in scores.items()},
        "intent_accuracy": {k: round(v.accuracy, 4) for k, v in scores.items()},
        "entity_f1": round(entity_f1(out), 4),
        "train_s": round(train_s, 1),
        "test_s": round(test_s, 1),
        "examples": {k: v.examples for k, v in scores.items()},
    }


def main() -> None:
    names = sys.argv[1:]
    configs = [p for p in sorted(PIPELINES.glob("*.yml")) if not names or p.stem in names]
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / "nlu_pipelines.json"
    results = json.loads(target.read_text()) if target.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            print(f"==> {config.name}", flush=True)
            results[config.stem] = evaluate(config, Path(tmp))
            print(json.dumps(results[config.stem], indent=2), flush=True)
            target.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
