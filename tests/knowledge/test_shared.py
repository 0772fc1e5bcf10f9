"""The process-wide retriever of the gateway and the action server follows new index
generations written by another process, without a restart."""

from __future__ import annotations

import time
from pathlib import Path

from core.settings import Settings
from knowledge.config import load_config
from knowledge.corpus import load_corpus
from knowledge.encoders import load_encoder
from knowledge.index import FaqIndex
from knowledge.retriever import Retriever
from knowledge.shared import SharedRetriever, knowledge_config
from knowledge.thresholds import load_thresholds
from tests.knowledge.conftest import make_entry

KITE = make_entry(
    "db-41",
    "Can I bring a kite to the stadium?",
    "Kites are not allowed inside the stadium.",
    paraphrases=["kite allowed at the match?", "flying kites at the ground"],
)


def test_a_running_shared_retriever_picks_up_an_entry_another_process_published(
    tmp_path: Path,
) -> None:
    settings = Settings(MATCHDAY_FAQ_DIR=str(tmp_path / "faq"))
    config = knowledge_config(settings)
    assert config.index == tmp_path / "faq"
    encoder = load_encoder(load_config().encoder, threads=1)
    entries = [e for e in load_corpus(config.corpus).entries if e.category == "entry-security"]
    FaqIndex.build(entries, encoder).save(config.index)

    served = SharedRetriever(settings)  # the action server's copy, opened on first use
    question = "is a kite allowed in the ground?"
    before = served.current().search(question, "en")
    assert all(c.entry_id != KITE.id for c in before.candidates)

    # The gateway (another process) publishes an approved answer into the same folder.
    gateway = Retriever(
        FaqIndex.load(config.index, encoder), load_thresholds(config.thresholds), config
    )
    gateway.upsert([KITE])

    time.sleep(config.reload_interval_s + 0.1)  # the reader looks at the manifest this often
    after = served.current().search(question, "en")
    assert after.best is not None
    assert after.best.entry_id == KITE.id
    assert served.current().entry(KITE.id) == KITE
