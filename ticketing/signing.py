"""Ticket codes: a compact payload signed with Ed25519, verifiable offline.

Layout (big-endian), then base32 without padding so the QR code can use its
dense alphanumeric mode (about 146 characters):

    1 byte   format (1)
    4 bytes  key id
    8 bytes  ticket id
    4 bytes  fixture id
    4 bytes  seat id
    4 bytes  holder (customer id)
    2 bytes  version of the ticket's code
    64 bytes Ed25519 signature over everything before it

Anyone with the public key can check a code without the database; the
revocation list says which (ticket, version) pairs no longer open a gate.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from ticketing.keys import KeyRing

FORMAT = 1
_BODY = struct.Struct(">B4sQIIIH")
_SIGNATURE = 64
CODE_BYTES = _BODY.size + _SIGNATURE


@dataclass(frozen=True)
class TicketClaims:
    """What a code says about its ticket."""

    kid: str
    ticket_id: int
    fixture_id: int
    seat_id: int
    holder_id: int
    version: int


def sign_ticket(
    keys: KeyRing, *, ticket_id: int, fixture_id: int, seat_id: int, holder_id: int, version: int
) -> tuple[str, str]:
    """The code of a ticket under the current key; returns (code, key id)."""
    key = keys.current()
    body = _BODY.pack(
        FORMAT, bytes.fromhex(key.kid), ticket_id, fixture_id, seat_id, holder_id, version
    )
    signature = key.private.sign(body)
    return base64.b32encode(body + signature).decode("ascii").rstrip("="), key.kid


def decode_code(code: str) -> tuple[TicketClaims, bytes, bytes] | None:
    """Split a code into its claims, signed body and signature; None if malformed."""
    if not isinstance(code, str) or not 100 <= len(code) <= 200:
        return None
    text = code.strip().upper()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != CODE_BYTES or raw[0] != FORMAT:
        return None
    body, signature = raw[: _BODY.size], raw[_BODY.size :]
    _format, kid, ticket_id, fixture_id, seat_id, holder_id, version = _BODY.unpack(body)
    claims = TicketClaims(kid.hex(), ticket_id, fixture_id, seat_id, holder_id, version)
    return claims, body, signature


def verify_code(keys: KeyRing, code: str) -> TicketClaims | None:
    """The claims of a genuine code; None for garbage, forgeries and unknown keys."""
    decoded = decode_code(code)
    if decoded is None:
        return None
    claims, body, signature = decoded
    return claims if keys.verify(claims.kid, signature, body) else None
