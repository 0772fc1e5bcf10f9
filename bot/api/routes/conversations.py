"""Fan conversations over the server-to-server API."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from bot.api.deps import CallerDep, Conversations, FullScope
from bot.api.errors import ApiError
from bot.api.schemas import (
    CONVERSATION_ID,
    MAX_ID,
    FanMessageIn,
    MessageOut,
    Reply,
    buttons_of,
)
from bot.conversations.service import Busy
from bot.rasa.client import RasaUnavailable
from ticketing.risk import HoldSource

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"], dependencies=[FullScope])

ConversationId = Annotated[
    str, Path(pattern=CONVERSATION_ID, description="Your id for the conversation (1-128 chars).")
]


class MessagesOut(BaseModel):
    conversation_id: str
    status: Literal["bot", "queued", "with_agent", "closed"]
    replies: list[Reply]
    pending: bool | None = Field(
        None,
        description="Present (true) with status 202: the desk is busy and the answer is "
        "still coming; the replies say so. Read it with GET .../messages; the message is "
        "processed once, in order.",
    )


class HistoryOut(BaseModel):
    status: Literal["bot", "queued", "with_agent", "closed"]
    messages: list[MessageOut]


@router.post(
    "/{conversation_id}/messages",
    response_model_exclude_none=True,
    responses={
        202: {"description": "Taken; the answer is still coming (`pending`)."},
        429: {"description": "Too many messages wait in this conversation; nothing stored."},
        503: {"description": "The assistant is down or full; nothing stored."},
    },
)
async def post_message(
    conversation_id: ConversationId,
    body: FanMessageIn,
    conversations: Conversations,
    caller: CallerDep,
    response: Response,
) -> MessagesOut:
    """Send a fan's message; the answer holds the desk's replies. Holds made in the
    conversation count against the key's hold budget, if it has one.

    When the desk is busy and the answer takes longer than `MATCHDAY_REPLY_PATIENCE`, the
    answer is 202 with `pending` and a "one moment" reply; the replies are stored when
    they come (GET .../messages; a retry with the same `client_message_id` waits for
    them)."""
    text = body.text.strip()
    if not text:
        raise ApiError(422, "too_short", "text: must not be blank", "text")
    try:
        outcome = await conversations.handle_fan_message(
            conversation_id,
            text,
            language=body.language,
            client_message_id=body.client_message_id,
            metadata=body.metadata,
            source=(
                HoldSource(key_id=caller.key_id, key_budget=caller.hold_budget)
                if caller.hold_budget is not None
                else None
            ),
        )
    except RasaUnavailable as exc:
        raise ApiError(
            503,
            "assistant_unavailable",
            "The assistant is not answering right now; nothing was stored, please retry.",
            headers={"Retry-After": "5"},
        ) from exc
    except Busy as exc:
        raise ApiError(
            429 if exc.code == "conversation_busy" else 503,
            exc.code,
            f"{exc} Nothing was stored.",
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from exc
    if outcome.pending:
        response.status_code = 202
    return MessagesOut(
        conversation_id=outcome.conversation_id,
        status=outcome.status,
        replies=[Reply.of(r) for r in outcome.replies],
        pending=True if outcome.pending else None,
    )


@router.get("/{conversation_id}/messages", response_model_exclude_none=True)
async def get_messages(
    conversation_id: ConversationId,
    conversations: Conversations,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Only messages with a larger id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HistoryOut:
    """The conversation's messages in the order they were sent."""
    from anyio import to_thread

    found = await to_thread.run_sync(conversations.history, conversation_id, after, limit)
    if found is None:
        raise ApiError(404, "not_found", f"No conversation {conversation_id!r}.")
    status, messages = found
    return HistoryOut(
        status=status,
        messages=[
            MessageOut(
                id=m.id,
                sender=m.sender,
                text=m.text,
                buttons=buttons_of(m.buttons),
                image=m.image,
                created_at=m.created_at,
            )
            for m in messages
        ],
    )
