"""`POST /api/v1/triage`: classify a text without starting a conversation."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from bot.api.deps import Rasa, ReadScope
from bot.api.errors import ApiError
from bot.api.schemas import MAX_TEXT, StrictBody
from bot.rasa.client import RasaUnavailable
from bot.triage import triage

router = APIRouter(prefix="/api/v1", tags=["triage"], dependencies=[ReadScope])


class TriageIn(StrictBody):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: Literal["en", "zh"] | None = None


class IntentOut(BaseModel):
    name: str
    confidence: float


class FaqOut(BaseModel):
    id: str
    question: str
    score: float


class ButtonOut(BaseModel):
    title: str
    payload: str


class TriageOut(BaseModel):
    intent: IntentOut
    topic: str = Field(
        description="The topic of the intent or FAQ entry; for `clarify`, the likeliest "
        "topic offered (else the closest FAQ entry's, else `faq_other`)."
    )
    route: Literal["intent", "faq", "handoff", "clarify", "out_of_scope"]
    faq: FaqOut | None
    language: Literal["en", "zh"]
    reply: str
    script: Literal["simplified", "traditional"] = Field(
        "simplified",
        description="The script the text's Chinese is written in; `reply` is written in it.",
    )
    domain: float | None = Field(
        None,
        description="P(the text is about what the desk serves), from the NLU's domain "
        "detector; below its threshold the route is `out_of_scope`.",
    )
    buttons: list[ButtonOut] = Field(
        default_factory=list,
        description="For `clarify`: the likely topics, closest FAQ questions and a person, "
        "as the desk would offer them (a payload is what pressing the button sends).",
    )


@router.post("/triage")
async def post_triage(body: TriageIn, rasa: Rasa, request: Request) -> TriageOut:
    """Intent, topic and the route the desk would take for this text."""
    text = body.text.strip()
    if not text:
        raise ApiError(422, "too_short", "text: must not be blank", "text")
    try:
        result = await triage(rasa, text, body.language, request.app.state.knowledge)
    except RasaUnavailable as exc:
        raise ApiError(
            503,
            "assistant_unavailable",
            "The NLU model is not answering; retry.",
            headers={"Retry-After": "5"},
        ) from exc
    return TriageOut(
        intent=IntentOut(name=result.intent, confidence=result.confidence),
        topic=result.topic,
        route=result.route,
        faq=FaqOut(**vars(result.faq)) if result.faq else None,
        language=result.language,
        reply=result.reply,
        script=result.script,
        domain=result.domain,
        buttons=[ButtonOut(title=b.title, payload=b.payload) for b in result.buttons],
    )
