"""Fixtures for the knowledge tests: one real encoder and one corpus index per session."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pytest

from knowledge.config import KnowledgeConfig, load_config
from knowledge.corpus import Corpus, Entry, load_corpus
from knowledge.encoders import Encoder, Vectors, load_encoder, normalise
from knowledge.index import FaqIndex
from knowledge.retriever import Retriever
from knowledge.text import terms
from knowledge.thresholds import load_thresholds


class HashingEncoder:
    """A tiny deterministic encoder (hashed bag of terms) for index mechanics tests."""

    name = "test-hashing"
    dim = 512

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def encode(self, texts: list[str]) -> Vectors:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text) or [text]:
                bucket = (
                    int(hashlib.md5(term.encode(), usedforsecurity=False).hexdigest(), 16)
                    % self.dim
                )
                out[row, bucket] += 1.0
        return normalise(out)


def make_entry(entry_id: str, question_en: str, answer_en: str, **extra: object) -> Entry:
    """A small published-style entry (English only unless `extra` adds Chinese)."""
    question = {"en": question_en}
    answer = {"en": answer_en}
    if "question_zh" in extra:
        question["zh"] = str(extra.pop("question_zh"))
    if "answer_zh" in extra:
        answer["zh"] = str(extra.pop("answer_zh"))
    return Entry(
        id=entry_id,
        category=str(extra.pop("category", "entry-security")),
        topic=extra.pop("topic", "faq_other"),  # type: ignore[arg-type]
        question=question,  # type: ignore[arg-type]
        answer=answer,  # type: ignore[arg-type]
        paraphrases={"en": tuple(p)} if (p := list(extra.pop("paraphrases", []))) else {},  # type: ignore[call-overload]
        last_reviewed=dt.date(2026, 11, 1),
        source="db",
    )


@pytest.fixture(scope="session")
def config() -> KnowledgeConfig:
    return load_config()


@pytest.fixture(scope="session")
def corpus(config: KnowledgeConfig) -> Corpus:
    return load_corpus(config.corpus)


@pytest.fixture(scope="session")
def use_encoder() -> Encoder:
    encoder = load_encoder("use-multilingual-v3", threads=1)
    encoder.encode(["warm-up"])
    return encoder


@pytest.fixture(scope="session")
def corpus_index(corpus: Corpus, use_encoder: Encoder) -> FaqIndex:
    return FaqIndex.build(list(corpus.entries), use_encoder, kind="flat")


@pytest.fixture
def retriever(corpus_index: FaqIndex, config: KnowledgeConfig, tmp_path: Path) -> Retriever:
    """The shipped corpus with the calibrated thresholds; never writes to models/."""
    local = config.with_overrides(index_dir=tmp_path / "faq")
    return Retriever(corpus_index, load_thresholds(config.thresholds), local, persist=False)
