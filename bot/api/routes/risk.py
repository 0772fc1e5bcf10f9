"""`GET /api/v1/risk`: refused requests per minute and reason (a `read` key)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Query
from pydantic import BaseModel

from bot.api.deps import ReadScope, Sessions
from core.clock import utcnow
from core.db import read_session
from ticketing.risk import refusals_per_minute

router = APIRouter(prefix="/api/v1", tags=["risk"], dependencies=[ReadScope])


class MinuteOut(BaseModel):
    minute: datetime
    reason: str
    count: int


class RiskOut(BaseModel):
    since: datetime
    minutes: list[MinuteOut]
    totals: dict[str, int]


@router.get("/risk")
async def refused_requests(
    sessions: Sessions,
    minutes: Annotated[int, Query(ge=1, le=7 * 24 * 60, description="How far back.")] = 60,
) -> RiskOut:
    """Requests the desk refused (caps, budgets, keys, sign-ins, widget sessions and
    sockets), per minute and reason, oldest first, with totals for the period."""
    since = utcnow() - timedelta(minutes=minutes)

    def read() -> list[MinuteOut]:
        with read_session(sessions) as session:
            return [
                MinuteOut(minute=c.minute, reason=c.reason, count=c.count)
                for c in refusals_per_minute(session, since)
            ]

    rows = await to_thread.run_sync(read)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.reason] = totals.get(row.reason, 0) + row.count
    return RiskOut(since=since, minutes=rows, totals=totals)
