"""The agent API (`/api/v1/agent/...`): sessions, the queue, and working a conversation.

Every endpoint but signing in needs an agent session (bearer token or console cookie);
the server-to-server key is refused. Supervision, knowledge drafts and the WebSocket
live in the sibling `agent_*.py` modules and are included here, so the gateway wires
the whole agent API with one `include_router`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from bot.api.paging import MAX_PAGE, Limit, Offset, page
from bot.api.routes import agent_knowledge, agent_supervision, agent_ws
from bot.api.routes.agent_deps import (
    COOKIE,
    AgentDep,
    DeskDep,
    IpDep,
    translated,
)
from bot.api.schemas import CONVERSATION_ID, MAX_ID, MAX_TEXT, StrictBody, rfc3339
from bot.handoff import auth
from bot.handoff.callbacks import open_callbacks
from bot.handoff.canned import CannedReply
from bot.handoff.errors import InvalidInput
from bot.handoff.queue import Transition
from bot.handoff.schemas import AgentMessage, ClaimOut, ConversationDetail, QueueEntry, View

router = APIRouter(prefix="/api/v1/agent", tags=["agent"])
router.include_router(agent_supervision.router)
router.include_router(agent_knowledge.router)
router.include_router(agent_ws.router)

ConversationId = Annotated[str, Path(pattern=CONVERSATION_ID)]


class LoginIn(StrictBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class PasswordIn(StrictBody):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class PasswordOut(BaseModel):
    sessions_ended: int


class SessionOut(BaseModel):
    token: str
    expires_at: str
    csrf_token: str
    username: str
    role: str


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    languages: list[str]
    csrf_token: str
    expires_at: str


class QueueOut(BaseModel):
    conversations: list[QueueEntry]


class StatusOut(BaseModel):
    id: str
    status: str


class NoteOut(BaseModel):
    id: int
    author: str
    text: str


class CallbackOut(View):
    id: int
    conversation_id: str
    language: str
    reason: str
    text: str
    created_at: str


class CallbacksOut(BaseModel):
    callbacks: list[CallbackOut]


class CannedOut(BaseModel):
    replies: list[CannedReply]


class TextIn(StrictBody):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class CloseIn(StrictBody):
    resolution: Literal["resolved", "duplicate", "no_response", "other"]
    note: str | None = Field(None, max_length=2000)


def _stamp(value: datetime) -> str:
    return rfc3339(value)


def _status_out(transition: Transition) -> StatusOut:
    return StatusOut(id=transition.conversation_id, status=transition.status)


@router.post("/session")
def sign_in(
    body: LoginIn, request: Request, response: Response, desk: DeskDep, ip: IpDep
) -> SessionOut:
    """Sign in: a 12-hour session token (also set as the console's HttpOnly cookie)."""
    with translated():
        new = auth.login(desk.sessions, body.username, body.password, ip)
    response.set_cookie(
        COOKIE,
        new.token,
        max_age=int(auth.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return SessionOut(
        token=new.token,
        expires_at=_stamp(new.expires_at),
        csrf_token=new.csrf_token,
        username=new.principal.username,
        role=new.principal.role,
    )


@router.delete("/session", status_code=204)
def sign_out(principal: AgentDep, response: Response, desk: DeskDep, ip: IpDep) -> Response:
    """End the session (the agent goes offline)."""
    auth.logout(desk.sessions, principal, ip)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/password")
def change_password(body: PasswordIn, principal: AgentDep, desk: DeskDep, ip: IpDep) -> PasswordOut:
    """Change my password: 403 `wrong_password` (counted as a failed sign-in), 422 if
    the new one is too short; every other session of mine ends, this one stays."""
    with translated():
        ended = auth.change_password(
            desk.sessions, principal, body.current_password, body.new_password, ip
        )
    return PasswordOut(sessions_ended=ended)


@router.get("/me")
def me(principal: AgentDep) -> MeOut:
    """Who is signed in, and the CSRF token the console sends with its changes."""
    return MeOut(
        username=principal.username,
        display_name=principal.display_name,
        role=principal.role,
        languages=list(principal.languages),
        csrf_token=principal.csrf_token,
        expires_at=_stamp(principal.expires_at),
    )


@router.get("/queue")
def queue(
    principal: AgentDep,
    desk: DeskDep,
    include_claimed: bool = False,
    limit: Limit = MAX_PAGE,
    offset: Offset = 0,
) -> QueueOut:
    """Waiting conversations in the agent's languages, most urgent first."""
    items = desk.queue.queue(principal, include_claimed=include_claimed)
    return QueueOut(
        conversations=[QueueEntry.model_validate(i) for i in page(items, limit, offset)]
    )


@router.get("/conversations")
def my_conversations(
    principal: AgentDep, desk: DeskDep, limit: Limit = MAX_PAGE, offset: Offset = 0
) -> QueueOut:
    """Conversations the agent holds now."""
    items = desk.queue.mine(principal)
    return QueueOut(
        conversations=[QueueEntry.model_validate(i) for i in page(items, limit, offset)]
    )


@router.get("/conversations/{conversation_id}")
async def conversation(
    conversation_id: ConversationId, principal: AgentDep, desk: DeskDep
) -> ConversationDetail:
    """Transcript, owner, notes and context (bot slots, last intents, the fan's orders)."""
    with translated():
        return await desk.conversation_with_slots(principal, conversation_id)


@router.post("/conversations/{conversation_id}/claim")
def claim(
    conversation_id: ConversationId, principal: AgentDep, desk: DeskDep, ip: IpDep
) -> ClaimOut:
    """Take a queued conversation; 409 when another agent has it."""
    with translated():
        transition = desk.claim(principal, conversation_id, ip)
    return ClaimOut(id=conversation_id, status=transition.status, owner=transition.owner)


@router.post("/conversations/{conversation_id}/messages", status_code=201)
def send_message(
    conversation_id: ConversationId, body: TextIn, principal: AgentDep, desk: DeskDep, ip: IpDep
) -> AgentMessage:
    """Write to the fan (the owner, or a supervisor)."""
    text = body.text.strip()
    with translated():
        if not text:
            raise InvalidInput("text: must not be blank", field="text")
        return desk.reply(principal, conversation_id, text, ip)


@router.post("/conversations/{conversation_id}/notes", status_code=201)
def add_note(
    conversation_id: ConversationId, body: TextIn, principal: AgentDep, desk: DeskDep, ip: IpDep
) -> NoteOut:
    """An internal note; the fan never sees it."""
    with translated():
        note = desk.add_note(principal, conversation_id, body.text.strip(), ip)
    return NoteOut(id=note.id, author=note.author, text=note.text)


@router.post("/conversations/{conversation_id}/typing", status_code=204)
def typing(conversation_id: ConversationId, principal: AgentDep, desk: DeskDep) -> Response:
    """The agent is typing (the console sends this over its WebSocket instead)."""
    with translated():
        desk.agent_typing(principal, conversation_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/handback")
def hand_back(
    conversation_id: ConversationId, principal: AgentDep, desk: DeskDep, ip: IpDep
) -> StatusOut:
    """Give the conversation back to the bot."""
    with translated():
        return _status_out(desk.hand_back(principal, conversation_id, ip))


@router.post("/conversations/{conversation_id}/close")
def close(
    conversation_id: ConversationId, body: CloseIn, principal: AgentDep, desk: DeskDep, ip: IpDep
) -> StatusOut:
    """Close the conversation with a resolution reason."""
    with translated():
        return _status_out(desk.close(principal, conversation_id, body.resolution, body.note, ip))


@router.get("/callbacks")
def callbacks(
    principal: AgentDep, desk: DeskDep, limit: Limit = MAX_PAGE, offset: Offset = 0
) -> CallbacksOut:
    """Messages fans left while no agent was online, oldest first."""
    return CallbacksOut(
        callbacks=[
            CallbackOut.model_validate(c)
            for c in page(open_callbacks(desk.sessions, principal), limit, offset)
        ]
    )


@router.post("/callbacks/{callback_id}/take")
def take_callback(
    callback_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    principal: AgentDep,
    desk: DeskDep,
    ip: IpDep,
) -> ClaimOut:
    """Take a callback request: the conversation is now the agent's."""
    with translated():
        return desk.take_callback(principal, callback_id, ip)


@router.get("/canned")
def canned(
    principal: AgentDep, desk: DeskDep, limit: Limit = MAX_PAGE, offset: Offset = 0
) -> CannedOut:
    """Canned replies in both languages."""
    return CannedOut(replies=page(desk.canned, limit, offset))
