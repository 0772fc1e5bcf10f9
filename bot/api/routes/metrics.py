"""`GET /metrics`: the desk's Prometheus metrics, for a `read` key (docs/operations.md).

Prometheus sends the key as a bearer token (`authorization: {credentials: <key>}` in
its scrape config); a missing or unknown key gets 401, a `gate` key 403, in the API's
error shape. Under `desk run` the answer adds up every process of the desk (the
gateway's and the action server's values, core/metrics.py).

The handoff queue and the callback requests live in the database, where any process
and any agent change them; their lengths are read at each scrape. When the database
does not answer, the other metrics are served all the same, with the lengths last read.
"""

from __future__ import annotations

import logging

from anyio import to_thread
from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from bot.api.deps import ReadScope
from bot.handoff.desk import HandoffDesk
from core import metrics

router = APIRouter(tags=["operations"])
log = logging.getLogger("matchday.gateway")


def _read_queue_lengths(desk: HandoffDesk) -> None:
    try:
        lengths = desk.queue.lengths()
    except SQLAlchemyError as exc:
        log.warning("metrics: queue lengths not read (database): %s", exc)
        return
    for queue, n in lengths.items():
        metrics.set_queue_length(queue, n)


@router.get(
    "/metrics",
    dependencies=[ReadScope],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def prometheus_metrics(request: Request) -> Response:
    """The desk's metrics in Prometheus text format (OpenMetrics when `Accept` asks):
    messages in and out per channel, latency per stage, queue lengths, escalations,
    holds, orders, refusals, open WebSocket sessions. Needs a `read` (or `full`) key."""
    desk: HandoffDesk = request.app.state.handoff
    await to_thread.run_sync(_read_queue_lengths, desk)
    body, content_type = await to_thread.run_sync(metrics.exposition, request.headers.get("accept"))
    return Response(body, media_type=content_type)
