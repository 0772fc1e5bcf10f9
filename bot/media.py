"""Signed, expiring links to media the desk sends fans (QR codes of e-tickets).

A fan's chat client fetches images without the server-to-server key, so each link
carries an expiry and an HMAC over the path and expiry made with
MATCHDAY_MEDIA_SECRET. Links are made by the action server and checked by the
gateway; both read the same secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

DEFAULT_TTL_S = 7 * 24 * 3600


def _signature(secret: str, path: str, expires: int) -> str:
    message = f"{path}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def signed_path(
    secret: str, path: str, ttl_s: int = DEFAULT_TTL_S, now: float | None = None
) -> str:
    """`path?exp=...&sig=...`, valid for `ttl_s` seconds."""
    if not secret:
        raise ValueError("MATCHDAY_MEDIA_SECRET is not set")
    expires = int((now or time.time()) + ttl_s)
    query = urlencode({"exp": expires, "sig": _signature(secret, path, expires)})
    return f"{path}?{query}"


def verify(secret: str, path: str, expires: int, signature: str, now: float | None = None) -> bool:
    """True when the link is authentic and has not expired."""
    if not secret or expires < (now or time.time()) or not signature.isascii():
        return False  # compare_digest raises on non-ASCII text: a forged link, not an error
    return hmac.compare_digest(_signature(secret, path, expires), signature)


def ticket_qr_path(ticket_id: int, version: int) -> str:
    """Where the gateway serves a ticket's QR image (the version makes old codes' links die)."""
    return f"/media/tickets/{ticket_id}-v{version}.png"
