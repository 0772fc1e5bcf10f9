"""Supervisor endpoints: agents online, reassigning conversations, the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from bot.api.paging import MAX_PAGE, Limit, Offset, page
from bot.api.routes.agent_deps import DeskDep, IpDep, SupervisorDep, translated
from bot.api.schemas import CONVERSATION_ID, StrictBody
from bot.handoff.agents import list_agents
from bot.handoff.schemas import AuditRecord, ClaimOut, View
from core.db import read_session

router = APIRouter()


class AssignIn(StrictBody):
    username: str = Field(min_length=1, max_length=64)


class AgentOut(View):
    username: str
    display_name: str
    role: str
    languages: list[str]
    online: bool
    last_seen_at: str | None
    open_conversations: int


class AgentsOut(BaseModel):
    agents: list[AgentOut]


class AuditOut(BaseModel):
    entries: list[AuditRecord]


@router.get("/agents")
def agents(
    principal: SupervisorDep, desk: DeskDep, limit: Limit = MAX_PAGE, offset: Offset = 0
) -> AgentsOut:
    """Every agent with presence (online now) and how many conversations they hold."""
    with read_session(desk.sessions) as session:
        views = list_agents(session, desk.policy.queue.presence_timeout_s)
    return AgentsOut(agents=[AgentOut.model_validate(a) for a in page(views, limit, offset)])


@router.post("/conversations/{conversation_id}/assign")
def assign(
    conversation_id: Annotated[str, Path(pattern=CONVERSATION_ID)],
    body: AssignIn,
    principal: SupervisorDep,
    desk: DeskDep,
    ip: IpDep,
) -> ClaimOut:
    """Give a queued or claimed conversation to another agent."""
    with translated():
        transition = desk.assign(principal, conversation_id, body.username, ip)
    return ClaimOut(id=conversation_id, status=transition.status, owner=transition.owner)


@router.get("/audit")
def audit_log(
    principal: SupervisorDep,
    desk: DeskDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditOut:
    """The newest audit entries (every agent action)."""
    with translated():
        return AuditOut(entries=desk.audit_log(principal, limit))
