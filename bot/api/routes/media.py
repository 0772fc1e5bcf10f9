"""Media behind signed, expiring links: the QR images of e-tickets."""

from __future__ import annotations

import re
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Query
from fastapi.responses import Response

from bot.api.deps import Sessions, SettingsDep
from bot.api.errors import ApiError
from core.media import ticket_qr_path, verify
from ticketing.qr import qr_png
from ticketing.tickets import ticket_views

router = APIRouter(tags=["media"])

# ASCII digits ([0-9], not \d: that matches every script's digits) within a bigint.
_TICKET_PNG = re.compile(r"^([0-9]{1,18})-v([0-9]{1,5})\.png$")
MAX_EXPIRES = 2**40  # unix seconds (year 36812): a bound, not a policy


@router.get("/media/tickets/{name}")
async def ticket_qr(
    name: str,
    sessions: Sessions,
    settings: SettingsDep,
    exp: Annotated[int, Query(ge=0, le=MAX_EXPIRES)],
    sig: Annotated[str, Query(max_length=64)],
    v: Annotated[str | None, Query(max_length=8, description="link format (2)")] = None,
) -> Response:
    """The QR image of a ticket, for a link the desk sent the fan."""
    match = _TICKET_PNG.match(name)
    if match is None:
        raise ApiError(404, "not_found", "No such media.")
    ticket_id, version = int(match.group(1)), int(match.group(2))
    if not verify(settings.media_secret, ticket_qr_path(ticket_id, version), exp, sig, version=v):
        raise ApiError(403, "link_expired", "This link is invalid or has expired.")

    def load() -> bytes | None:
        with sessions() as session:
            views = ticket_views(session, [ticket_id])
        if not views or views[0].version != version or views[0].status not in ("valid", "used"):
            return None
        return qr_png(views[0].code)

    png = await to_thread.run_sync(load)
    if png is None:
        raise ApiError(410, "ticket_replaced", "This ticket was refunded, exchanged or replaced.")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
