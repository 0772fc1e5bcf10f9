"""What the stand-in Rasa servers of the tests accept: the gateway's signed header."""

from __future__ import annotations

import jwt
from starlette.requests import Request


def signed_by_gateway(request: Request, secret: str) -> bool:
    """Whether `request` carries a valid gateway JWT for `secret` (as Rasa checks it)."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer ") or "token" in request.query_params:
        return False
    try:
        claims = jwt.decode(header[7:], secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return False
    return bool(claims.get("user", {}).get("role") == "admin")
