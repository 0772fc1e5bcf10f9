"""Signed, expiring links to media the desk sends fans (QR codes of e-tickets).

A fan's chat client fetches images without the server-to-server key, so each link
carries a version, an expiry and a signature over the path and expiry
(`path?v=2&exp=...&sig=...`, `core.signing` with a purpose of its own). Links are made
by the action server and the gateway and checked by the gateway; all read the same
secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

from core.signing import Signer

DEFAULT_TTL_S = 7 * 24 * 3600
LINK_VERSION = "2"
_PURPOSE = "matchday media link v2"


def _message(path: str, expires: int) -> str:
    return f"{path}\n{expires}"


def signed_path(
    secret: str, path: str, ttl_s: int = DEFAULT_TTL_S, now: float | None = None
) -> str:
    """`path?v=2&exp=...&sig=...`, valid for `ttl_s` seconds."""
    if not secret:
        raise ValueError("MATCHDAY_MEDIA_SECRET is not set")
    expires = int((now or time.time()) + ttl_s)
    signature = Signer(secret, _PURPOSE).sign(_message(path, expires))
    return f"{path}?{urlencode({'v': LINK_VERSION, 'exp': expires, 'sig': signature})}"


def verify(
    secret: str,
    path: str,
    expires: int,
    signature: str,
    now: float | None = None,
    version: str | None = None,
) -> bool:
    """True when the link is authentic and has not expired."""
    if not secret or expires < (now or time.time()) or not signature.isascii():
        return False
    if version == LINK_VERSION:
        return Signer(secret, _PURPOSE).valid(_message(path, expires), signature)
    return version is None and _legacy_valid(secret, path, expires, signature)


def _legacy_valid(secret: str, path: str, expires: int, signature: str) -> bool:
    """Links made before version 2 (no `v`): an HMAC under the bare secret, in hex.

    They live at most DEFAULT_TTL_S (7 days) from when they were made, so every one
    has expired by 2026-12-15; this check can go then.
    """
    mac = hmac.new(secret.encode(), _message(path, expires).encode(), hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest()[:32], signature)


def ticket_qr_path(ticket_id: int, version: int) -> str:
    """Where the gateway serves a ticket's QR image (the version makes old codes' links die)."""
    return f"/media/tickets/{ticket_id}-v{version}.png"
