"""Choose the domain detector's threshold on the training data, never on evaluation sets.

Runs in the Rasa environment (`.venv-rasa/bin/python bench/domain_calibrate.py`).
The examples `components/domain.py` learns from (NLU training data, FAQ questions
and paraphrases) are split into 5 stratified folds; each
fold is scored by a detector fitted on the other four. On these out-of-fold
scores it reports the ROC AUC and, for each candidate threshold, the share of
in-domain examples kept and of out-of-domain examples rejected, and suggests the
lowest threshold that rejects at least `--reject` (90%) of the out-of-domain
examples, and the lowest rescue threshold that rejects `--rescue` (98%) of them.
Training wordings are closer to each other than real fans' are to them, so real
in-domain questions score lower: the suggestion leans towards keeping.
Writes bench/results/domain_calibration.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reject", type=float, default=0.90, help="for `threshold`")
    parser.add_argument("--rescue", type=float, default=0.98, help="for `rescue_threshold`")
    parser.add_argument("--show", type=int, default=0, help="print the worst N of each class")
    parser.add_argument("--set", action="append", default=[], help="config override KEY=VALUE")
    parser.add_argument(
        "--output", default=str(ROOT / "bench" / "results" / "domain_calibration.json")
    )
    args = parser.parse_args()

    import yaml
    from rasa.shared.nlu.training_data.loading import load_data
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from components.domain import DomainGate, labelled_examples

    config = next(
        c
        for c in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
        if c["name"].endswith("DomainGate")
    )
    settings = {k: v for k, v in config.items() if k != "name"}
    for item in args.set:
        key, value = item.split("=", 1)
        settings[key] = yaml.safe_load(value)
    gate = DomainGate(settings, None, None)  # type: ignore[arg-type]
    training = load_data(str(ROOT / "data" / "nlu"))
    negatives = settings.get("extra_negatives")
    texts, labels, known = labelled_examples(
        training,
        "out_of_scope",
        ROOT / "knowledge" / "corpus",
        ROOT / negatives if negatives else None,
        tuple(gate.config["ignore"]),
    )
    import hashlib

    digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"domain-dense-{digest}.npy"  # sentence vectors
    if cache.exists():
        dense = np.load(cache)
    else:
        dense = gate.dense_vectors(texts, known)
        np.save(cache, dense)
    y = np.asarray(labels)
    oof = np.zeros(len(texts))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, y):
        model = gate.fit([texts[i] for i in train], list(y[train]), dense[train])
        oof[test] = gate.scores([texts[i] for i in test], dense[test], model)
    rows = []
    for threshold in np.arange(0.05, 0.991, 0.01):
        kept = float(np.mean(oof[y == 1] >= threshold))
        rejected = float(np.mean(oof[y == 0] < threshold))
        rows.append(
            {
                "threshold": round(float(threshold), 2),
                "kept": round(kept, 4),
                "rejected": round(rejected, 4),
            }
        )

    def lowest(target: float) -> dict[str, float] | None:
        good = [r for r in rows if r["rejected"] >= target]
        return min(good, key=lambda r: r["threshold"]) if good else None

    report = {
        "config": settings,
        "examples": {"in_domain": int(y.sum()), "out_of_domain": int((1 - y).sum())},
        "roc_auc": round(float(roc_auc_score(y, oof)), 4),
        "suggested": {"threshold": lowest(args.reject), "rescue_threshold": lowest(args.rescue)},
        "thresholds": rows,
    }
    if args.show:
        order = np.argsort(oof)
        print("in-domain examples scored lowest:")
        for i in [i for i in order if y[i] == 1][: args.show]:
            print(f"  {oof[i]:.2f} {texts[i]}")
        print("out-of-domain examples scored highest:")
        for i in [i for i in order[::-1] if y[i] == 0][: args.show]:
            print(f"  {oof[i]:.2f} {texts[i]}")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "thresholds"}))
    for row in rows[::5]:
        print(row)


if __name__ == "__main__":
    main()
