"""The one signer of the desk: links to media, widget tokens, anything a fan's client
carries back to us and we must trust.

Each purpose gets a key of its own, derived from the one secret (MATCHDAY_MEDIA_SECRET)
with HMAC and the purpose as salt (itsdangerous), so a signature made for one purpose
never passes for another, and rotating the secret ends them all.
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous.signer import HMACAlgorithm
from itsdangerous.signer import Signer as _Signer


class _Truncated(HMACAlgorithm):
    """HMAC-SHA256 cut to `size` bytes (24 bytes: 32 characters in a URL, 192 bits)."""

    def __init__(self, size: int) -> None:
        super().__init__(hashlib.sha256)
        self.size = size

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[: self.size]


class Signer:
    """Signs and checks text for one `purpose` (say "matchday widget token v1")."""

    def __init__(self, secret: str, purpose: str, size: int = 24) -> None:
        if not secret:
            raise ValueError("no signing secret (MATCHDAY_MEDIA_SECRET) is set")
        self._signer = _Signer(
            secret,
            salt=purpose,
            key_derivation="hmac",
            digest_method=hashlib.sha256,
            algorithm=_Truncated(size),
        )

    def sign(self, message: str) -> str:
        """The signature of `message`: URL-safe base64, no padding."""
        return self._signer.get_signature(message).decode("ascii")

    def valid(self, message: str, signature: str) -> bool:
        """True when `signature` is ours for `message` (constant time; junk is just False)."""
        if not signature.isascii():  # compare_digest refuses non-ASCII text
            return False
        return hmac.compare_digest(self.sign(message), signature)
