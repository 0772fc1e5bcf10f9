"""Agents' approved answers in the FAQ index: publishing one, and catching up at start."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.handoff.drafts import DraftEntry, list_drafts
from knowledge.corpus import Entry, entry_from_mapping
from knowledge.shared import SharedRetriever


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
