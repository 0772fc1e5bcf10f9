"""The FAQ retriever as the gateway and the action server use it.

Opened lazily (the encoder takes a moment to load) and shared by the process;
`current()` also picks up a newer index another process published.
"""

from __future__ import annotations

import threading

from core.settings import Settings
from knowledge.config import KnowledgeConfig, load_config
from knowledge.corpus import load_corpus
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
