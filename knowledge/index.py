"""The FAISS index of FAQ entries, stored under `models/faq/` with a manifest.

Every question and paraphrase of an entry (both languages) is one vector of kind
`question`; every sentence of its answers is one vector of kind `answer`. Vector ids
map back to entry ids, so entries can be added, replaced and removed without a
rebuild (`IndexIDMap2` over `IndexFlatIP`, or `IndexIVFFlat` with a hash direct map
for very large corpora).

On disk, each save writes a new generation folder (`gen-000007/`) and then the
`manifest.json` pointing at it, so a reader never sees half a save: it reads the
manifest, then the folder it names. Only one process should write (the gateway);
every other process picks the new generation up with `Retriever.reload_if_changed()`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Literal

import faiss
import numpy as np

from knowledge.classifier import EntryClassifier, load_out_of_scope
from knowledge.corpus import CorpusError, Entry, entry_from_mapping, fingerprint
from knowledge.encoders import Encoder, Vectors
from knowledge.language import LANGUAGES

IndexKind = Literal["flat", "ivf"]
VectorKind = Literal["question", "answer"]
FORMAT_VERSION: Final = 1
MANIFEST: Final = "manifest.json"
IVF_ABOVE_ENTRIES: Final = 50_000
# The entry classifier trains in seconds on thousands of entries; beyond, dense + BM25 only.
CLASSIFIER_MAX_ENTRIES: Final = 5_000
KEEP_GENERATIONS: Final = 2
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*")
_KIND_CODE: Final[dict[VectorKind, int]] = {"question": 0, "answer": 1}
# One query at a time is searched: FAISS's OpenMP threads only spin against each other
# and against the process's other work (measured on 6,640 vectors of 512 floats, two
# cores: 5.5 ms of CPU per search with two threads, 0.47 ms with one).
SEARCH_THREADS: Final = 1
faiss.omp_set_num_threads(SEARCH_THREADS)
_KINDS: Final[tuple[VectorKind, VectorKind]] = ("question", "answer")


class IndexNotFound(FileNotFoundError):
    """No built index at the given folder: run `desk knowledge build`."""


class IndexMismatch(ValueError):
    """The stored index does not fit the encoder, thresholds or format asked for."""


@dataclass(frozen=True)
class Manifest:
    """What an index was built from; the cheap thing readers check for changes."""

    encoder: str
    dim: int
    kind: IndexKind
    corpus_fingerprint: str
    extra_fingerprint: str
    entries: int
    vectors: int
    generation: int
    built_at: str
    updated_at: str
    format_version: int = FORMAT_VERSION

    @property
    def folder(self) -> str:
        """The generation folder holding this version's files."""
        return f"gen-{self.generation:06d}"


def answer_sentences(text: str) -> list[str]:
    """The sentences of an answer (short fragments dropped)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if len(part.strip()) > 3]


def entry_vectors_texts(entry: Entry) -> list[tuple[VectorKind, str]]:
    """The texts an entry contributes to the index, with their kind."""
    out: list[tuple[VectorKind, str]] = [("question", text) for _, text in entry.texts()]
    for lang in LANGUAGES:
        if lang in entry.answer:
            out.extend(("answer", sentence) for sentence in answer_sentences(entry.answer[lang]))
    return out


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class FaqIndex:
    """Entries, their vectors in FAISS and the vector-to-entry map.

    Thread-safe: searches and updates take one lock.
    """

    def __init__(self, encoder: Encoder, kind: IndexKind = "flat", nlist: int = 1024) -> None:
        """An empty index for `encoder`; `ivf` needs `train` before the first add."""
        self.encoder = encoder
        self.kind: IndexKind = kind
        self.corpus_fingerprint = ""
        self.built_at = _now()
        self.generation = 0
        self.entries: dict[str, Entry] = {}
        self._digests: dict[str, str] = {}
        self._vector_ids: dict[str, np.ndarray] = {}
        self._owner: dict[int, tuple[str, int]] = {}
        self._next_id = 0
        self.classifier: EntryClassifier | None = None
        self._lock = threading.RLock()
        self._faiss = self._empty(kind, encoder.dim, nlist)

    @staticmethod
    def _empty(kind: IndexKind, dim: int, nlist: int) -> Any:
        if kind == "flat":
            return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        ivf.nprobe = 16
        return ivf

    # ----- building -------------------------------------------------------------

    @classmethod
    def build(
        cls,
        entries: Sequence[Entry],
        encoder: Encoder,
        *,
        kind: IndexKind | Literal["auto"] = "auto",
        corpus_fingerprint: str = "",
        progress: Callable[[int], None] | None = None,
        classifier: bool | None = None,
        out_of_scope: Sequence[str] | None = None,
    ) -> FaqIndex:
        """Encode every entry and index it; `auto` picks IVF above 50,000 entries.

        `progress` is called with the number of texts encoded after each batch. The
        entry classifier (second stage) is trained unless `classifier` is False; by
        default up to 5,000 entries. `out_of_scope` wordings train its abstain class
        (default: `knowledge/out_of_scope.yml`).
        """
        chosen: IndexKind = (
            kind if kind != "auto" else ("ivf" if len(entries) > IVF_ABOVE_ENTRIES else "flat")
        )
        plan = [(entry, entry_vectors_texts(entry)) for entry in entries]
        texts = [text for _, items in plan for _, text in items]
        nlist = max(16, min(4096, int(4 * np.sqrt(max(len(texts), 1)))))
        index = cls(encoder, chosen, nlist=nlist)
        index.corpus_fingerprint = corpus_fingerprint
        vectors = index._encode(texts, progress)
        if chosen == "ivf":
            index.train(vectors)
        offset = 0
        with index._lock:
            for entry, items in plan:
                index._add(entry, items, vectors[offset : offset + len(items)])
                offset += len(items)
        if classifier is None:
            classifier = 2 <= len(entries) <= CLASSIFIER_MAX_ENTRIES
        if classifier:
            index.train_classifier(plan, vectors, out_of_scope)
        return index

    def train_classifier(
        self,
        plan: Sequence[tuple[Entry, list[tuple[VectorKind, str]]]],
        vectors: Vectors,
        out_of_scope: Sequence[str] | None = None,
    ) -> None:
        """Fit the entry classifier on every question and paraphrase of `plan`."""
        labels: list[str] = []
        texts: list[str] = []
        rows: list[int] = []
        offset = 0
        for entry, items in plan:
            for position, (kind, text) in enumerate(items):
                if kind == "question":
                    labels.append(entry.id)
                    texts.append(text)
                    rows.append(offset + position)
            offset += len(items)
        extra = list(load_out_of_scope() if out_of_scope is None else out_of_scope)
        extra_vectors = self.encoder.encode(extra) if extra else vectors[:0]
        if len(set(labels)) + bool(extra) < 2:
            return
        self.classifier = EntryClassifier.train(
            labels,
            texts,
            vectors[rows],
            list(zip(extra, extra_vectors, strict=True)),
        )

    def train(self, sample: Vectors) -> None:
        """Train the IVF coarse quantiser (no-op for flat indexes)."""
        if self.kind == "ivf" and not self._faiss.is_trained:
            self._faiss.train(sample)

    def _encode(self, texts: list[str], progress: Callable[[int], None] | None) -> Vectors:
        batch = 256
        parts: list[Vectors] = []
        for start in range(0, len(texts), batch):
            chunk = texts[start : start + batch]
            parts.append(self.encoder.encode(chunk))
            if progress is not None:
                progress(len(chunk))
        if not parts:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def _add(self, entry: Entry, items: list[tuple[VectorKind, str]], vectors: Vectors) -> None:
        ids = np.arange(self._next_id, self._next_id + len(items), dtype=np.int64)
        self._next_id += len(items)
        if len(ids):
            self._faiss.add_with_ids(vectors, ids)
        for vector_id, (kind, _) in zip(ids.tolist(), items, strict=True):
            self._owner[vector_id] = (entry.id, _KIND_CODE[kind])
        self._vector_ids[entry.id] = ids
        self.entries[entry.id] = entry
        self._digests[entry.id] = entry.digest()

    def _drop(self, entry_id: str) -> None:
        ids = self._vector_ids.pop(entry_id, None)
        if ids is not None and len(ids):
            self._faiss.remove_ids(ids)
            for vector_id in ids.tolist():
                self._owner.pop(vector_id, None)
        if self.classifier is not None:
            self.classifier.remove([entry_id])
        self.entries.pop(entry_id, None)
        self._digests.pop(entry_id, None)

    # ----- live updates ---------------------------------------------------------

    def upsert(self, entries: Iterable[Entry]) -> list[str]:
        """Add new entries and replace changed ones; returns the ids that changed.

        Unchanged entries (same content digest) are skipped, so calling this with every
        published entry at start-up is cheap.
        """
        todo = [e for e in entries if self._digests.get(e.id) != e.digest()]
        if not todo:
            return []
        plan = [(entry, entry_vectors_texts(entry)) for entry in todo]
        vectors = self._encode([text for _, items in plan for _, text in items], None)
        offset = 0
        with self._lock:
            for entry, items in plan:
                self._drop(entry.id)
                own = vectors[offset : offset + len(items)]
                self._add(entry, items, own)
                if self.classifier is not None:
                    asked = [i for i, (kind, _) in enumerate(items) if kind == "question"]
                    self.classifier.imprint(entry.id, [items[i][1] for i in asked], own[asked])
                offset += len(items)
        return [entry.id for entry in todo]

    def remove(self, entry_ids: Iterable[str]) -> list[str]:
        """Remove entries by id; returns the ids that were present."""
        removed: list[str] = []
        with self._lock:
            for entry_id in entry_ids:
                if entry_id in self.entries:
                    self._drop(entry_id)
                    removed.append(entry_id)
        return removed

    # ----- searching ------------------------------------------------------------

    def nearest_entries(self, vector: Vectors, k_vectors: int = 64) -> list[str]:
        """Entry ids owning the `k_vectors` nearest vectors, best first, without repeats."""
        with self._lock:
            if self._faiss.ntotal == 0:
                return []
            _, ids = self._faiss.search(vector.reshape(1, -1), min(k_vectors, self._faiss.ntotal))
            seen: dict[str, None] = {}
            for vector_id in ids[0].tolist():
                owner = self._owner.get(vector_id)
                if owner is not None:
                    seen.setdefault(owner[0], None)
            return list(seen)

    def dense_scores(
        self, vector: Vectors, entry_ids: Iterable[str]
    ) -> dict[str, tuple[float, float]]:
        """Exact (best question cosine, best answer-sentence cosine) for each entry."""
        query = vector.reshape(-1)
        out: dict[str, tuple[float, float]] = {}
        with self._lock:
            for entry_id in entry_ids:
                ids = self._vector_ids.get(entry_id)
                if ids is None or not len(ids):
                    continue
                sims = self._faiss.reconstruct_batch(ids) @ query
                kinds = np.array([self._owner[int(i)][1] for i in ids])
                best = [
                    float(sims[kinds == code].max()) if (kinds == code).any() else 0.0
                    for code in (0, 1)
                ]
                out[entry_id] = (best[0], best[1])
        return out

    # ----- persistence ----------------------------------------------------------

    def manifest(self) -> Manifest:
        """The manifest describing the current state."""
        extras = [e for e in self.entries.values() if e.source == "db"]
        return Manifest(
            encoder=self.encoder.name,
            dim=self.encoder.dim,
            kind=self.kind,
            corpus_fingerprint=self.corpus_fingerprint,
            extra_fingerprint=fingerprint(extras) if extras else "",
            entries=len(self.entries),
            vectors=int(self._faiss.ntotal),
            generation=self.generation,
            built_at=self.built_at,
            updated_at=_now(),
        )

    def save(self, folder: Path) -> Manifest:
        """Write a new generation under `folder`, then the manifest pointing at it."""
        with self._lock:
            folder.mkdir(parents=True, exist_ok=True)
            previous = read_manifest(folder) if (folder / MANIFEST).exists() else None
            self.generation = max(self.generation, previous.generation if previous else 0) + 1
            manifest = self.manifest()
            target = folder / manifest.folder
            staging = folder / f".{manifest.folder}.tmp-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            faiss.write_index(self._faiss, str(staging / "index.faiss"))
            vector_ids = np.array(sorted(self._owner), dtype=np.int64)
            positions = {entry_id: pos for pos, entry_id in enumerate(self.entries)}
            np.savez(
                staging / "vectors.npz",
                ids=vector_ids,
                entry=np.array(
                    [positions[self._owner[i][0]] for i in vector_ids.tolist()], dtype=np.int32
                ),
                kind=np.array([self._owner[i][1] for i in vector_ids.tolist()], dtype=np.int8),
                next_id=np.array([self._next_id], dtype=np.int64),
            )
            rows = [{"source": e.source, "entry": e.to_mapping()} for e in self.entries.values()]
            (staging / "entries.json").write_text(
                json.dumps(rows, ensure_ascii=False), encoding="utf-8"
            )
            if self.classifier is not None:
                self.classifier.save(staging)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staging, target)
            _write_json_atomic(folder / MANIFEST, asdict(manifest))
            _prune_generations(folder, keep=KEEP_GENERATIONS)
            return manifest

    @classmethod
    def load(cls, folder: Path, encoder: Encoder) -> FaqIndex:
        """Load the generation the manifest names.

        Raises:
            IndexNotFound: when nothing was built there.
            IndexMismatch: when `encoder` is not the one the index was built with.
        """
        manifest = read_manifest(folder)
        if manifest.encoder != encoder.name or manifest.dim != encoder.dim:
            raise IndexMismatch(
                f"{folder}: built with {manifest.encoder} ({manifest.dim}-dim), "
                f"not {encoder.name} ({encoder.dim}-dim); rebuild with `desk knowledge build`"
            )
        source = folder / manifest.folder
        index = cls(encoder, manifest.kind)
        index._faiss = faiss.read_index(str(source / "index.faiss"))
        rows = json.loads((source / "entries.json").read_text(encoding="utf-8"))
        entries: list[Entry] = []
        for row in rows:
            try:
                entries.append(entry_from_mapping(row["entry"], source=row["source"]))
            except CorpusError as error:
                raise IndexMismatch(f"{source}: stored entry is invalid: {error}") from None
        with np.load(source / "vectors.npz") as data:
            ids, owners, kinds = data["ids"], data["entry"], data["kind"]
            index._next_id = int(data["next_id"][0])
        index.entries = {entry.id: entry for entry in entries}
        index._digests = {entry.id: entry.digest() for entry in entries}
        grouped: dict[str, list[int]] = {entry.id: [] for entry in entries}
        for vector_id, position, kind in zip(
            ids.tolist(), owners.tolist(), kinds.tolist(), strict=True
        ):
            entry_id = entries[position].id
            index._owner[vector_id] = (entry_id, kind)
            grouped[entry_id].append(vector_id)
        index._vector_ids = {key: np.array(value, dtype=np.int64) for key, value in grouped.items()}
        index.classifier = EntryClassifier.load(source)
        index.corpus_fingerprint = manifest.corpus_fingerprint
        index.built_at = manifest.built_at
        index.generation = manifest.generation
        return index


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the index stored in `folder`.

    Raises:
        IndexNotFound: when there is none.
        IndexMismatch: when it was written by an incompatible version.
    """
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexNotFound(f"no FAQ index at {folder}: run `desk knowledge build`") from None
    if data.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(
            f"{path}: format {data.get('format_version')}, expected {FORMAT_VERSION}"
        )
    return Manifest(**data)


def manifest_stamp(folder: Path) -> tuple[int, int, int] | None:
    """A cheap change marker for the manifest (inode, mtime in ns, size), or None if absent.

    Saves replace the manifest file, so its inode changes even within one clock tick.
    """
    try:
        stat = (folder / MANIFEST).stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def _prune_generations(folder: Path, keep: int) -> None:
    generations = sorted(p for p in folder.glob("gen-*") if p.is_dir())
    for old in generations[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
