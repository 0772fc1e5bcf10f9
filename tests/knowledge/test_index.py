from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.corpus import Corpus
from knowledge.index import FaqIndex, IndexMismatch, IndexNotFound, read_manifest
from tests.knowledge.conftest import HashingEncoder, make_entry

KITE = make_entry("db-1", "Can I bring a kite?", "Kites are not allowed.")
DRUM = make_entry("db-2", "Can I bring a drum?", "Drums are allowed in the North Stand.")


def _top(index: FaqIndex, encoder: HashingEncoder, text: str) -> str | None:
    found = index.nearest_entries(encoder.encode([text]), 8)
    return found[0] if found else None


def test_build_indexes_every_question_paraphrase_and_answer_sentence(corpus: Corpus) -> None:
    encoder = HashingEncoder()
    index = FaqIndex.build(list(corpus.entries[:20]), encoder, kind="flat")
    expected = sum(len(e.texts()) for e in corpus.entries[:20])
    assert index.manifest().vectors > expected  # plus answer sentences
    assert index.manifest().entries == 20


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_add_update_and_remove_without_rebuilding(corpus: Corpus, kind: str) -> None:
    encoder = HashingEncoder()
    index = FaqIndex.build(list(corpus.entries), encoder, kind=kind)  # type: ignore[arg-type]
    before_vectors = index.manifest().vectors
    encoded_so_far = encoder.texts

    assert index.upsert([KITE, DRUM]) == ["db-1", "db-2"]
    added = encoder.texts - encoded_so_far
    assert added == 4  # two questions, two answer sentences: nothing else re-encoded
    assert _top(index, encoder, "bring kite") == "db-1"

    assert index.upsert([KITE]) == []  # unchanged content is skipped
    changed = make_entry(
        "db-1", "Can I fly a kite?", "Kites are not allowed.", paraphrases=["kite flying"]
    )
    assert index.upsert([changed]) == ["db-1"]
    assert index.entries["db-1"].question["en"] == "Can I fly a kite?"

    assert index.remove(["db-1", "db-404"]) == ["db-1"]
    assert "db-1" not in index.entries
    assert _top(index, encoder, "bring kite") != "db-1"
    assert index.manifest().vectors == before_vectors + 2  # only the drum remains


def test_save_and_load_keep_published_entries(corpus: Corpus, tmp_path: Path) -> None:
    encoder = HashingEncoder()
    index = FaqIndex.build(list(corpus.entries[:10]), encoder, corpus_fingerprint="abc")
    index.upsert([KITE])
    first = index.save(tmp_path)
    second = index.save(tmp_path)
    assert second.generation == first.generation + 1
    manifest = read_manifest(tmp_path)
    assert (manifest.encoder, manifest.dim, manifest.corpus_fingerprint) == (
        "test-hashing",
        512,
        "abc",
    )
    assert manifest.entries == 11 and manifest.extra_fingerprint

    loaded = FaqIndex.load(tmp_path, encoder)
    assert loaded.entries["db-1"] == KITE
    assert _top(loaded, encoder, "bring kite") == "db-1"
    loaded.upsert([DRUM])  # vector ids continue after a load: no clash
    assert _top(loaded, encoder, "bring drum") == "db-2"
    assert _top(loaded, encoder, "bring kite") == "db-1"


def test_loading_checks_the_encoder_and_the_folder(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound):
        FaqIndex.load(tmp_path, HashingEncoder())
    FaqIndex.build([KITE], HashingEncoder()).save(tmp_path)

    class Other(HashingEncoder):
        name = "other"

    with pytest.raises(IndexMismatch, match="built with test-hashing"):
        FaqIndex.load(tmp_path, Other())


def test_searches_run_on_one_thread() -> None:
    """A query is one vector: FAISS's OpenMP threads would only spin (knowledge/index.py)."""
    import faiss

    import knowledge.index

    assert knowledge.index.SEARCH_THREADS == 1
    assert faiss.omp_get_max_threads() == 1
