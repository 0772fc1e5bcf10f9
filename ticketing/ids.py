"""Random identifiers: hold, quote and code ids, and fans' order references."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 letters, no 0/O, 1/I
REF_ALPHABET = ALPHABET


def new_id(prefix: str, length: int = 12) -> str:
    """A random, unambiguous id such as `H7KX2QD9M4TPA`."""
    # The alphabet has 32 letters: 5 random bits pick one, uniformly (one call for all).
    return prefix + "".join(ALPHABET[b & 31] for b in secrets.token_bytes(length))


def new_order_ref(prefix: str) -> str:
    """A fan-facing order reference: the club's order prefix and six characters (RA-7KX2QD)."""
    return f"{prefix}-" + "".join(ALPHABET[b & 31] for b in secrets.token_bytes(6))
