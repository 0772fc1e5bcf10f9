"""How the gateway proves to Rasa that a call comes from the desk.

Rasa's HTTP API and the gateway's input channel (components/channel.py) both take
`Authorization: Bearer <JWT>`, HS256-signed with `MATCHDAY_RASA_TOKEN`. The token
names the gateway with Rasa's `admin` role (Rasa's API requires it for calls that
are not about one conversation) and expires after `TOKEN_LIFETIME_S`; it is minted
again a minute before that, so a stolen header is useless within minutes and the
secret itself never travels, in a URL or anywhere else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator

import httpx
import jwt

TOKEN_LIFETIME_S = 600
RENEW_BEFORE_S = 60


class RasaAuth(httpx.Auth):
    """httpx authentication for every call to the desk's Rasa server."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("MATCHDAY_RASA_TOKEN is empty: Rasa would not accept the gateway")
        self._secret = secret
        self._lock = threading.Lock()
        self._header = ""
        self._renew_at = 0.0

    def header(self) -> str:
        """The `Authorization` header value in force (minted again shortly before expiry)."""
        now = time.time()
        if now >= self._renew_at:
            with self._lock:
                if now >= self._renew_at:
                    claims = {
                        "user": {"username": "matchday-gateway", "role": "admin"},
                        "iat": int(now),
                        "exp": int(now) + TOKEN_LIFETIME_S,
                    }
                    self._header = "Bearer " + jwt.encode(claims, self._secret, algorithm="HS256")
                    self._renew_at = now + TOKEN_LIFETIME_S - RENEW_BEFORE_S
        return self._header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header()
        yield request
