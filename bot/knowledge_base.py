"""The FAQ retriever as the gateway and the action server use it.

Opened lazily (the encoder takes a moment to load) and shared by the process;
`current()` also picks up a newer index another process published.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from bot.handoff.drafts import DraftEntry, list_drafts
from bot.settings import Settings
from knowledge.config import KnowledgeConfig, load_config
from knowledge.corpus import Entry, entry_from_mapping, load_corpus
from knowledge.index import IndexNotFound, read_manifest
from knowledge.retriever import Retriever


def knowledge_config(settings: Settings) -> KnowledgeConfig:
    """knowledge/config.yml with the index folder from the desk's settings."""
    return load_config(index_dir=settings.faq_dir)


def index_is_current(settings: Settings) -> bool:
    """True when a built index exists for the current corpus files."""
    config = knowledge_config(settings)
    try:
        manifest = read_manifest(config.index)
    except IndexNotFound:
        return False
    return manifest.corpus_fingerprint == load_corpus(config.corpus).fingerprint


class SharedRetriever:
    """One retriever per process, opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self._config = knowledge_config(settings)
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None

    def current(self) -> Retriever:
        """The retriever, refreshed if another process published a new index."""
        with self._lock:
            if self._retriever is None:
                self._retriever = Retriever.open(self._config)
        self._retriever.reload_if_changed()
        return self._retriever


def entry_of_draft(draft: DraftEntry) -> Entry:
    """The FAQ entry of an approved agent answer (answers in one or both languages)."""
    answers = {
        language: text
        for language, text in (("en", draft.answer_en), ("zh", draft.answer_zh))
        if text
    } or {draft.language: draft.answer}
    return entry_from_mapping(
        {
            "id": f"db-{draft.id}",
            "topic": draft.topic or "faq_other",
            "question": {draft.language: draft.question},
            "answer": answers,
            "owner": draft.created_by,
        },
        source="db",
    )


def publish(knowledge: SharedRetriever, draft: DraftEntry) -> None:
    """Index an approved draft at once: answerable without a restart, kept across one."""
    knowledge.current().upsert([entry_of_draft(draft)])


def sync_published(knowledge: SharedRetriever, sessions: sessionmaker[Session]) -> int:
    """Make sure every published draft in the database is in the index; returns the count."""
    published = list_drafts(sessions, "published")
    if published:
        knowledge.current().upsert(entry_of_draft(d) for d in published)
    return len(published)
