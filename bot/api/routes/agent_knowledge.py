"""FAQ drafts from conversations ("save as FAQ draft") and their approval."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from bot.api.paging import MAX_PAGE, Limit, Offset, page
from bot.api.routes.agent_deps import AgentDep, DeskDep, IpDep, SupervisorDep, translated
from bot.api.schemas import CONVERSATION_ID, MAX_ID, MAX_TEXT, StrictBody
from bot.handoff.drafts import list_drafts
from bot.handoff.schemas import View

router = APIRouter(prefix="/knowledge")


class DraftIn(StrictBody):
    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(min_length=1, max_length=MAX_TEXT)
    language: Literal["en", "zh"]
    topic: str | None = Field(None, max_length=32)
    conversation_id: str | None = Field(None, pattern=CONVERSATION_ID)


class ApproveIn(StrictBody):
    answer_en: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    answer_zh: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    topic: str | None = Field(None, max_length=32)


class DraftOut(View):
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
    created_at: str
    published_at: str | None


class DraftsOut(BaseModel):
    drafts: list[DraftOut]


class DraftStatusOut(BaseModel):
    id: int
    status: str


@router.post("", status_code=201)
def create(body: DraftIn, principal: AgentDep, desk: DeskDep, ip: IpDep) -> DraftStatusOut:
    """Save a question and answer from a conversation as an FAQ draft."""
    with translated():
        entry = desk.create_draft(
            principal,
            question=body.question.strip(),
            answer=body.answer.strip(),
            language=body.language,
            topic=body.topic,
            conversation_id=body.conversation_id,
            ip=ip,
        )
    return DraftStatusOut(id=entry.id, status=entry.status)


@router.get("")
def drafts(
    principal: AgentDep,
    desk: DeskDep,
    status: Annotated[Literal["draft", "published"] | None, Query()] = None,
    limit: Limit = MAX_PAGE,
    offset: Offset = 0,
) -> DraftsOut:
    """Drafts and published entries, newest first."""
    entries = list_drafts(desk.sessions, status)
    return DraftsOut(drafts=[DraftOut.model_validate(e) for e in page(entries, limit, offset)])


@router.post("/{draft_id}/approve")
def approve(
    draft_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: ApproveIn,
    principal: SupervisorDep,
    desk: DeskDep,
    ip: IpDep,
) -> DraftStatusOut:
    """Publish a draft (supervisor); the retriever is told through the publish hooks."""
    with translated():
        entry = desk.approve_draft(
            principal,
            draft_id,
            answer_en=body.answer_en,
            answer_zh=body.answer_zh,
            topic=body.topic,
            ip=ip,
        )
    return DraftStatusOut(id=entry.id, status=entry.status)
