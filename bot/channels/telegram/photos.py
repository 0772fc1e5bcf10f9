"""QR e-tickets as photo bytes.

The assistant's replies carry a ticket's QR image as a signed gateway link
(`.../media/tickets/<id>-v<version>.png?v=2&exp=...&sig=...`). Telegram's servers
cannot fetch a link on a private network, so the channel checks the link as the
media route does and renders the PNG in-process, then uploads the bytes.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from core.media import ticket_qr_path, verify
from ticketing.qr import qr_png
from ticketing.tickets import ticket_views

_TICKET_PATH = re.compile(r"/media/tickets/(\d{1,19})-v(\d{1,5})\.png$")


def ticket_png(sessions: sessionmaker[Session], ticket_id: int, version: int) -> bytes | None:
    """The QR image of a live ticket at `version`, None if replaced, refunded or unknown."""
    with sessions() as session:
        views = ticket_views(session, [ticket_id])
    if not views or views[0].version != version or views[0].status not in ("valid", "used"):
        return None
    return qr_png(views[0].code)


def png_for_link(sessions: sessionmaker[Session], secret: str, link: str) -> bytes | None:
    """The PNG behind a signed ticket link, None if the link is not one, is forged or expired."""
    parts = urlsplit(link)
    match = _TICKET_PATH.search(parts.path)
    if match is None:
        return None
    query = parse_qs(parts.query)
    try:
        expires = int(query["exp"][0])
        signature = query["sig"][0]
        link_version = query["v"][0] if "v" in query else None
    except (KeyError, IndexError, ValueError):
        return None
    ticket_id, version = int(match.group(1)), int(match.group(2))
    if not verify(
        secret, ticket_qr_path(ticket_id, version), expires, signature, version=link_version
    ):
        return None
    return ticket_png(sessions, ticket_id, version)
