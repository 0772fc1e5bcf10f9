"""Ticket codes: a compact payload signed with Ed25519, verifiable offline.

Layout (big-endian), then base32 without padding so the QR code can use its
dense alphanumeric mode (about 146 characters):

    1 byte   format (2)
    4 bytes  key id
    8 bytes  ticket id
    4 bytes  fixture id
    4 bytes  seat id
    4 bytes  holder (customer id)
    2 bytes  version of the ticket's code
    1 byte   n, the length of the concession's name
    n bytes  the concession's name in UTF-8 (adult, child, disabled...: at most 16)
    64 bytes Ed25519 signature over everything before it

Anyone with the public key can check a code without the database, and a steward sees
which tickets need proof of a concession; the revocation list says which (ticket,
version) pairs no longer open a gate. Codes of format 1 (no concession, issued before
format 2) still verify: their claims carry no concession.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from ticketing.keys import KeyRing

FORMAT = 2
MAX_CONCESSION_BYTES = 16
_BODY = struct.Struct(">B4sQIIIHB")
_BODY_V1 = struct.Struct(">B4sQIIIH")
_SIGNATURE = 64
_V1_BYTES = _BODY_V1.size + _SIGNATURE


@dataclass(frozen=True)
class TicketClaims:
    """What a code says about its ticket."""

    kid: str
    ticket_id: int
    fixture_id: int
    seat_id: int
    holder_id: int
    version: int
    concession: str | None = None  # None: a format-1 code, which names none


def sign_ticket(
    keys: KeyRing,
    *,
    ticket_id: int,
    fixture_id: int,
    seat_id: int,
    holder_id: int,
    version: int,
    concession: str = "adult",
) -> tuple[str, str]:
    """The code of a ticket under the current key; returns (code, key id)."""
    key = keys.current()
    name = concession.encode("utf-8")
    if not 0 < len(name) <= MAX_CONCESSION_BYTES:
        raise ValueError(f"a concession's name is 1-{MAX_CONCESSION_BYTES} bytes: {concession!r}")
    body = (
        _BODY.pack(
            FORMAT,
            bytes.fromhex(key.kid),
            ticket_id,
            fixture_id,
            seat_id,
            holder_id,
            version,
            len(name),
        )
        + name
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
    if raw[:1] == b"\x01" and len(raw) == _V1_BYTES:
        body, signature = raw[: _BODY_V1.size], raw[_BODY_V1.size :]
        _format, kid, ticket_id, fixture_id, seat_id, holder_id, version = _BODY_V1.unpack(body)
        claims = TicketClaims(kid.hex(), ticket_id, fixture_id, seat_id, holder_id, version)
        return claims, body, signature
    if raw[:1] != bytes([FORMAT]) or len(raw) < _BODY.size + _SIGNATURE:
        return None
    head = _BODY.unpack(raw[: _BODY.size])
    size = _BODY.size + head[7]
    if len(raw) != size + _SIGNATURE or not 0 < head[7] <= MAX_CONCESSION_BYTES:
        return None
    try:
        concession = raw[_BODY.size : size].decode("utf-8")
    except UnicodeDecodeError:
        return None
    _format, kid, ticket_id, fixture_id, seat_id, holder_id, version, _n = head
    claims = TicketClaims(kid.hex(), ticket_id, fixture_id, seat_id, holder_id, version, concession)
    return claims, raw[:size], raw[size:]


def verify_code(keys: KeyRing, code: str) -> TicketClaims | None:
    """The claims of a genuine code; None for garbage, forgeries and unknown keys."""
    decoded = decode_code(code)
    if decoded is None:
        return None
    claims, body, signature = decoded
    return claims if keys.verify(claims.kid, signature, body) else None
