"""FAQ retriever benchmark: accuracy on the blind test set, latency, build cost, scale.

Scores the TEST half of bench/data/faq_labels.jsonl (the calibration half only sets
the thresholds) and the whole of bench/data/faq_labels_b.jsonl (a second blind set,
written after the corpus work by someone who never saw the corpus; never used to
choose anything), on one CPU thread, and writes bench/results/faq.json.

    .venv/bin/python bench/faq.py                  # everything (~3-6 minutes)
    .venv/bin/python bench/faq.py --skip-encoders --skip-scale
    .venv/bin/python bench/faq.py --scale-entries 10000   # a quicker scale point

Parts:
- `retriever`: the configured encoder end to end with the calibrated thresholds.
- `encoders`: each installed encoder on the same split (one subprocess each, so that
  memory is measured per model), with the same fusion weights; also without the entry
  classifier (first stage only) and dense only.
- `scale`: synthetic entries (clustered random vectors, 4 per entry) in flat, IVF and
  HNSW indexes: build time, memory, search latency and recall against flat.
  Parts skipped with --skip-* keep their figures from the previous bench/results/faq.json.
"""

from __future__ import annotations

import os

# One core: set before numpy/faiss/torch start their thread pools.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.calibration import LabelledQuery, Scored, load_labelled, outcome, summary
from knowledge.config import load_config
from knowledge.corpus import load_corpus
from knowledge.encoders import load_encoder
from knowledge.index import FaqIndex
from knowledge.retriever import Retriever
from knowledge.thresholds import Fusion, Thresholds, load_thresholds

RESULTS = Path(__file__).resolve().parent / "results"
BLIND_B = Path(__file__).resolve().parent / "data" / "faq_labels_b.jsonl"
ENCODERS = ("use-multilingual-v3", "e5-small-q4", "minilm-l6-v2")
# CPU time of each timed query (this process only): wall time is noisy on a shared machine.
CPU_MS: list[float] = []


def rss_mb() -> float:
    """Resident memory of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def accuracy(scored: list[Scored]) -> dict[str, Any]:
    """Top-1/top-3 per language, label plus equally complete entries ("also") and strict."""
    out: dict[str, Any] = {}
    for language in ("en", "zh", "all"):
        rows = [
            s
            for s in scored
            if s.query.answerable and (language == "all" or s.query.language == language)
        ]
        if not rows:
            continue
        strict1 = sum(bool(s.ranked) and s.ranked[0].entry_id == s.query.entry for s in rows)
        strict3 = sum(any(c.entry_id == s.query.entry for c in s.ranked[:3]) for s in rows)
        out[language] = {
            "queries": len(rows),
            "top1": round(sum(s.top1_right for s in rows) / len(rows), 3),
            "top3": round(sum(s.top3_right for s in rows) / len(rows), 3),
            "top1_strict": round(strict1 / len(rows), 3),
            "top3_strict": round(strict3 / len(rows), 3),
        }
    return out


def timed_scores(
    retriever: Retriever, queries: list[LabelledQuery]
) -> tuple[list[Scored], list[float]]:
    """Rank each query (encode + search + fuse), timing each one."""
    scored: list[Scored] = []
    latencies: list[float] = []
    cpu: list[float] = []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.process_time()
        _, ranked = retriever.rank(query.text, query.language)
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        scored.append(Scored(query, tuple(ranked[:10])))
    CPU_MS.extend(cpu)
    return scored, latencies


def latency_summary(latencies: list[float]) -> dict[str, float]:
    cpu = CPU_MS[-len(latencies) :]
    return {
        "queries": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "max_ms": round(max(latencies), 2),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "cpu_p95_ms": round(percentile(cpu, 95), 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def measure_encoder(name: str) -> dict[str, Any]:
    """Build an in-memory index with `name` and score the test split (fusion as configured)."""
    config = load_config()
    corpus = load_corpus(config.corpus)
    base = load_thresholds(config.thresholds)
    before = rss_mb()
    started = time.perf_counter()
    encoder = load_encoder(name, threads=1)
    encoder.encode(["warm-up"])
    load_s = time.perf_counter() - started
    model_mb = rss_mb() - before
    started = time.perf_counter()
    index = FaqIndex.build(list(corpus.entries), encoder, kind="flat")
    build_s = time.perf_counter() - started
    retriever = Retriever(
        index, Thresholds(encoder=name, fusion=base.fusion), config, persist=False
    )
    test = load_labelled(config.labels, split="test")
    for query in test[:5]:  # warm caches
        retriever.rank(query.text, query.language)
    scored, latencies = timed_scores(retriever, test)
    # Dense only (no answer sentences, no BM25, no classifier), and the first stage alone
    # (dense + answers + BM25, no classifier), to show what each part adds.
    dense = Retriever(
        index, Thresholds(encoder=name, fusion=Fusion(0.0, 0.0, 0.0)), config, persist=False
    )
    dense_scored = [Scored(q, tuple(dense.rank(q.text, q.language)[1][:10])) for q in test]
    first_stage = Retriever(
        index,
        Thresholds(encoder=name, fusion=replace(base.fusion, classifier_weight=0.0)),
        config,
        persist=False,
    )
    first_scored = [Scored(q, tuple(first_stage.rank(q.text, q.language)[1][:10])) for q in test]
    return {
        "encoder": name,
        "dim": encoder.dim,
        "model_load_s": round(load_s, 2),
        "model_rss_mb": round(model_mb, 1),
        "build_s": round(build_s, 2),
        "vectors": index.manifest().vectors,
        "accuracy_fused": accuracy(scored),
        "accuracy_dense_only": accuracy(dense_scored),
        "accuracy_without_classifier": accuracy(first_scored),
        "latency_ms": latency_summary(latencies),
    }


def by_language(scored: list[Scored], thresholds: Thresholds) -> dict[str, Any]:
    """The decision summary of each language's queries."""
    return {
        language: summary([s for s in scored if s.query.language == language], thresholds)
        for language in ("en", "zh")
    }


def bench_retriever() -> dict[str, Any]:
    """The configured retriever end to end: build, calibrated decisions, latency."""
    config = load_config()
    thresholds = load_thresholds(config.thresholds)
    corpus = load_corpus(config.corpus)
    before = rss_mb()
    encoder = load_encoder(config.encoder, **config.encoder_options)
    encoder.encode(["warm-up"])
    model_mb = rss_mb() - before
    before = rss_mb()
    started, started_cpu = time.perf_counter(), time.process_time()
    index = FaqIndex.build(
        list(corpus.entries), encoder, kind="flat", corpus_fingerprint=corpus.fingerprint
    )
    build_s = time.perf_counter() - started
    build_cpu_s = time.process_time() - started_cpu
    index_mb = rss_mb() - before
    retriever = Retriever(index, thresholds, config, persist=False)
    test = load_labelled(config.labels, split="test")
    for query in test[:5]:
        retriever.rank(query.text, query.language)
    scored, latencies = timed_scores(retriever, test)
    blind_b, _ = timed_scores(retriever, load_labelled(BLIND_B, whole="test"))
    decisions: dict[str, dict[str, int]] = {"answerable": {}, "negative": {}}
    for item in scored:
        group = "answerable" if item.query.answerable else "negative"
        decision = outcome(item, thresholds)
        decisions[group][decision] = decisions[group].get(decision, 0) + 1
    return {
        "encoder": encoder.name,
        "split": "test (sha1(text) odd); thresholds from the calibration half",
        "thresholds": {
            "answer": thresholds.answer,
            "margin": thresholds.margin,
            "suggest": thresholds.suggest,
            "out_of_scope": thresholds.out_of_scope,
            "out_of_scope_unless": thresholds.out_of_scope_unless,
        },
        "fusion": vars(thresholds.fusion),
        "corpus": {"entries": len(corpus.entries), "vectors": index.manifest().vectors},
        "build_s": round(build_s, 2),
        "build_cpu_s": round(build_cpu_s, 2),
        "classifier": index.classifier is not None,
        "index_mb": round(index.manifest().vectors * encoder.dim * 4 / 2**20, 2),
        "index_rss_mb": round(index_mb, 1),
        "model_rss_mb": round(model_mb, 1),
        "accuracy": accuracy(scored),
        "decisions": summary(scored, thresholds),
        "decisions_by_language": by_language(scored, thresholds),
        "decision_counts": decisions,
        "blind_b": {
            "file": str(BLIND_B.relative_to(BLIND_B.parent.parent.parent)),
            "accuracy": accuracy(blind_b),
            "decisions": summary(blind_b, thresholds),
            "decisions_by_language": by_language(blind_b, thresholds),
        },
        "test_half_and_blind_b": {
            "accuracy": accuracy(scored + blind_b),
            "decisions": summary(scored + blind_b, thresholds),
        },
        "latency_ms": latency_summary(latencies),
        "encode_throughput_texts_per_s": round(throughput(encoder), 1),
    }


def throughput(encoder: Any) -> float:
    """Texts per second when encoding in batches (what a big build costs)."""
    texts = [f"can I bring item number {i} to the stadium on match day?" for i in range(512)]
    started = time.perf_counter()
    encoder.encode(texts)
    return len(texts) / (time.perf_counter() - started)


def synthetic(
    entries: int, per_entry: int, dim: int, seed: int = 7
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clustered unit vectors: `per_entry` noisy copies of a random centre per entry.

    Returns the vectors, 200 queries (noisy copies of entry centres) and each query's entry.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((entries, dim), dtype=np.float32)
    vectors = np.repeat(centres, per_entry, axis=0)
    vectors += 0.6 * rng.standard_normal(vectors.shape, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owners = rng.choice(entries, 200, replace=False)
    queries = centres[owners]
    queries = queries + 0.6 * rng.standard_normal(queries.shape, dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return vectors, queries.astype(np.float32), owners


def bench_scale(
    entry_counts: list[int], per_entry: int = 4, dim: int = 512, hnsw_max_entries: int = 10_000
) -> list[dict[str, Any]]:
    """Build/search cost of flat, IVF and HNSW indexes as the corpus grows.

    HNSW builds slowly on one core (about a minute for 40,000 vectors here), so it is
    only built up to `hnsw_max_entries`; larger points record the skip.
    """
    faiss.omp_set_num_threads(1)
    rows: list[dict[str, Any]] = []
    for entries in entry_counts:
        vectors, queries, owners = synthetic(entries, per_entry, dim)
        ids = np.arange(len(vectors), dtype=np.int64)
        truth: list[np.ndarray] | None = None
        for kind in ("flat", "ivf", "hnsw"):
            if kind == "hnsw" and entries > hnsw_max_entries:
                rows.append(
                    {"entries": entries, "kind": kind, "skipped": "build too slow on one core"}
                )
                continue
            before = rss_mb()
            started = time.perf_counter()
            index: Any
            if kind == "flat":
                index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
                index.add_with_ids(vectors, ids)
            elif kind == "ivf":
                nlist = max(16, min(4096, int(4 * np.sqrt(len(vectors)))))
                index = faiss.IndexIVFFlat(
                    faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT
                )
                sample = vectors[
                    np.random.default_rng(1).choice(
                        len(vectors), min(len(vectors), 40 * nlist), replace=False
                    )
                ]
                index.train(sample)
                index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
                index.add_with_ids(vectors, ids)
                index.nprobe = 16
            else:
                index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = 80
                index.add(vectors)
                index.hnsw.efSearch = 64
            build_s = time.perf_counter() - started
            memory = rss_mb() - before
            latencies: list[float] = []
            found: list[np.ndarray] = []
            for query in queries:
                started = time.perf_counter()
                _, hit = index.search(query[None, :], 10)
                latencies.append((time.perf_counter() - started) * 1000)
                found.append(hit[0])
            if kind == "flat":
                truth = found
            assert truth is not None
            recall = float(
                np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
            )
            # Does the search find the query's own entry (its vectors), as an exact search does?
            own = float(
                np.mean(
                    [
                        len(
                            set(hit[:per_entry].tolist())
                            & set(range(e * per_entry, (e + 1) * per_entry))
                        )
                        / per_entry
                        for hit, e in zip(found, owners.tolist(), strict=True)
                    ]
                )
            )
            update_ms = None
            if kind in ("flat", "ivf"):
                extra = vectors[:per_entry].copy()
                started = time.perf_counter()
                new_ids = np.arange(len(vectors), len(vectors) + per_entry, dtype=np.int64)
                index.add_with_ids(extra, new_ids)
                index.remove_ids(new_ids)
                update_ms = round((time.perf_counter() - started) * 1000, 2)
            rows.append(
                {
                    "entries": entries,
                    "vectors": len(vectors),
                    "kind": kind,
                    "build_s": round(build_s, 2),
                    "rss_mb": round(memory, 1),
                    "raw_vectors_mb": round(vectors.nbytes / 2**20, 1),
                    "search_p50_ms": round(statistics.median(latencies), 3),
                    "search_p95_ms": round(percentile(latencies, 95), 3),
                    "recall_at_10_vs_flat": round(recall, 3),
                    "own_entry_vectors_in_top": round(own, 3),
                    "add_remove_one_entry_ms": update_ms,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            del index
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-encoders", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-retriever", action="store_true")
    parser.add_argument("--hnsw-max-entries", type=int, default=10_000)
    parser.add_argument("--scale-entries", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    parser.add_argument("--encoder-only", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=RESULTS / "faq.json")
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    if args.encoder_only:
        print(json.dumps(measure_encoder(args.encoder_only)))
        return
    output: Path = args.output
    # Parts skipped this time keep their figures from the previous run.
    result: dict[str, Any] = json.loads(output.read_text()) if output.exists() else {}
    result["threads"] = 1
    if not args.skip_retriever:
        result["retriever"] = bench_retriever()
        print(json.dumps(result["retriever"], indent=2), flush=True)
    if not args.skip_encoders:
        result["encoders"] = []
        for name in ENCODERS:
            run = subprocess.run(
                [sys.executable, __file__, "--encoder-only", name],
                capture_output=True,
                text=True,
                check=False,
            )
            if run.returncode != 0:
                result["encoders"].append(
                    {"encoder": name, "error": run.stderr.strip().splitlines()[-1:]}
                )
            else:
                result["encoders"].append(json.loads(run.stdout.strip().splitlines()[-1]))
            print(json.dumps(result["encoders"][-1]), flush=True)
    if not args.skip_scale:
        result["scale"] = bench_scale(args.scale_entries, hnsw_max_entries=args.hnsw_max_entries)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
