"""Knowledge drafts: "save as FAQ draft" from the console, and a supervisor's approval.

Only persistence lives here. Publishing into the FAQ retriever is done by callbacks
registered on `HandoffDesk.on_knowledge_published` (also `app.state.on_knowledge_published`),
which receive the approved `DraftEntry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff import audit
from bot.handoff.auth import Principal
from bot.handoff.errors import Conflict, InvalidInput, NotFound
from bot.handoff.models import Agent, KnowledgeDraft
from core.clock import utcnow
from core.db import read_session, write_session
from knowledge.language import LANGUAGES
from knowledge.topics import TOPICS


@dataclass(frozen=True)
class DraftEntry:
    """A knowledge draft (or, once approved, a published entry)."""

    id: int
    question: str
    answer: str
    language: str
    topic: str | None
    answer_en: str | None
    answer_zh: str | None
    status: str
    conversation_id: str | None
    created_by: str
    created_at: datetime
    published_at: datetime | None


def _entry(row: KnowledgeDraft, author: str) -> DraftEntry:
    return DraftEntry(
        id=row.id,
        question=row.question,
        answer=row.answer,
        language=row.language,
        topic=row.topic,
        answer_en=row.answer_en,
        answer_zh=row.answer_zh,
        status=row.status,
        conversation_id=row.conversation_id,
        created_by=author,
        created_at=row.created_at,
        published_at=row.published_at,
    )


def _check_topic(topic: str | None) -> None:
    if topic is not None and topic not in TOPICS:
        raise InvalidInput(f"topic: unknown topic {topic!r}", field="topic")


def create_draft(
    sessions: sessionmaker[Session],
    principal: Principal,
    *,
    question: str,
    answer: str,
    language: str,
    topic: str | None,
    conversation_id: str | None,
    ip: str | None,
) -> DraftEntry:
    """Save an FAQ draft written by an agent."""
    if language not in LANGUAGES:
        raise InvalidInput("language: en or zh", field="language")
    _check_topic(topic)
    with write_session(sessions) as session:
        row = KnowledgeDraft(
            question=question,
            answer=answer,
            language=language,
            topic=topic,
            answer_en=answer if language == "en" else None,
            answer_zh=answer if language == "zh" else None,
            conversation_id=conversation_id,
            status="draft",
            created_by=principal.agent_id,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            "knowledge_draft",
            username=principal.username,
            agent_id=principal.agent_id,
            conversation_id=conversation_id,
            ip=ip,
            draft_id=row.id,
        )
        return _entry(row, principal.username)


def approve_draft(
    sessions: sessionmaker[Session],
    principal: Principal,
    draft_id: int,
    *,
    answer_en: str | None,
    answer_zh: str | None,
    topic: str | None,
    ip: str | None,
) -> DraftEntry:
    """Supervisor: publish a draft (optionally with both languages' answers and a topic)."""
    principal.require("supervisor")
    _check_topic(topic)
    with write_session(sessions) as session:
        row = session.get(KnowledgeDraft, draft_id)
        if row is None:
            raise NotFound(f"No knowledge draft {draft_id}.")
        if row.status != "draft":
            raise Conflict("The draft is already published.", code="already_published")
        row.answer_en = answer_en or row.answer_en
        row.answer_zh = answer_zh or row.answer_zh
        row.topic = topic or row.topic
        row.status = "published"
        row.approved_by = principal.agent_id
        row.published_at = utcnow()
        audit.record(
            session,
            "knowledge_published",
            username=principal.username,
            agent_id=principal.agent_id,
            conversation_id=row.conversation_id,
            ip=ip,
            draft_id=row.id,
        )
        author = session.get(Agent, row.created_by)
        return _entry(row, author.username if author else "?")


def list_drafts(sessions: sessionmaker[Session], status: str | None) -> list[DraftEntry]:
    """Drafts (newest first), optionally only those with `status`."""
    with read_session(sessions) as session:
        query = (
            select(KnowledgeDraft, Agent.username)
            .join(Agent, Agent.id == KnowledgeDraft.created_by)
            .order_by(KnowledgeDraft.id.desc())
            .limit(200)
        )
        if status is not None:
            query = query.where(KnowledgeDraft.status == status)
        return [_entry(row, author) for row, author in session.execute(query).all()]
