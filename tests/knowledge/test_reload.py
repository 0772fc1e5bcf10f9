"""Two processes' worth of retrievers on one index folder: the learning loop's path."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.config import KnowledgeConfig
from knowledge.corpus import Corpus
from knowledge.encoders import Encoder
from knowledge.index import FaqIndex, IndexMismatch
from knowledge.retriever import Retriever
from knowledge.thresholds import Thresholds
from tests.knowledge.conftest import make_entry

KITE = make_entry(
    "db-3",
    "Can I bring a kite to the stadium?",
    "Kites are not allowed inside the stadium.",
    paraphrases=["kite allowed at the match?", "flying kites at the ground"],
    question_zh="可以带风筝进球场吗？",
    answer_zh="球场内不允许带风筝。",
)


@pytest.fixture
def folder_config(config: KnowledgeConfig, tmp_path: Path) -> KnowledgeConfig:
    thresholds = tmp_path / "thresholds.yml"
    Thresholds(answer=0.9, margin=0.05, suggest=0.7).save(thresholds)
    return config.with_overrides(index_dir=tmp_path / "faq", thresholds_path=thresholds)


def _writer_and_reader(
    corpus: Corpus, encoder: Encoder, settings: KnowledgeConfig
) -> tuple[Retriever, Retriever]:
    entries = [e for e in corpus.entries if e.category == "entry-security"]
    FaqIndex.build(entries, encoder).save(settings.index)
    limits = Thresholds(answer=0.9, margin=0.05, suggest=0.7)
    writer = Retriever(FaqIndex.load(settings.index, encoder), limits, settings)
    reader = Retriever(FaqIndex.load(settings.index, encoder), limits, settings)
    return writer, reader


def test_a_published_entry_reaches_another_running_retriever_without_restart(
    corpus: Corpus, use_encoder: Encoder, folder_config: KnowledgeConfig
) -> None:
    writer, reader = _writer_and_reader(corpus, use_encoder, folder_config)
    assert reader.reload_if_changed(force=True) is False  # nothing new yet

    assert writer.upsert([KITE]) == ["db-3"]
    assert writer.search("may I fly a kite in the stands?").candidates[0].entry_id == "db-3"
    assert reader.search("may I fly a kite in the stands?").candidates[0].entry_id != "db-3"

    assert reader.reload_if_changed(force=True) is True
    found = reader.search("我能在看台上放风筝吗？")
    assert found.candidates[0].entry_id == "db-3"
    assert reader.reload_if_changed(force=True) is False

    writer.remove(["db-3"])
    assert reader.reload_if_changed(force=True) is True
    assert "db-3" not in reader.index.entries


def test_reload_checks_are_throttled(
    corpus: Corpus, use_encoder: Encoder, folder_config: KnowledgeConfig
) -> None:
    writer, reader = _writer_and_reader(
        corpus, use_encoder, folder_config.with_overrides(reload_interval_s=3600.0)
    )
    writer.upsert([KITE])
    assert reader.reload_if_changed() is False  # checked too recently
    assert reader.reload_if_changed(force=True) is True


def test_published_entries_survive_a_restart(
    corpus: Corpus, use_encoder: Encoder, folder_config: KnowledgeConfig
) -> None:
    writer, _ = _writer_and_reader(corpus, use_encoder, folder_config)
    writer.upsert([KITE])
    restarted = Retriever.open(folder_config)
    assert restarted.entry("db-3") == KITE
    assert restarted.search("kite allowed at the match?").candidates[0].entry_id == "db-3"


def test_swap_serves_a_new_index_at_once(
    corpus: Corpus, use_encoder: Encoder, folder_config: KnowledgeConfig
) -> None:
    writer, _ = _writer_and_reader(corpus, use_encoder, folder_config)
    writer.swap(FaqIndex.build([KITE], use_encoder))
    assert list(writer.index.entries) == ["db-3"]
    assert writer.search("kite allowed at the match?").candidates[0].entry_id == "db-3"


def test_thresholds_for_another_encoder_are_refused(
    corpus: Corpus, use_encoder: Encoder, folder_config: KnowledgeConfig
) -> None:
    _writer_and_reader(corpus, use_encoder, folder_config)
    Thresholds(encoder="e5-small-q4").save(folder_config.thresholds)
    with pytest.raises(IndexMismatch, match="calibrated for e5-small-q4"):
        Retriever.open(folder_config)
