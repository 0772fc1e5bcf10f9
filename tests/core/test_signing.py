"""The one signer: separate purposes, and links and tokens made before it still valid."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.channels.webchat import tokens
from core.media import signed_path, ticket_qr_path, verify
from core.signing import Signer

SECRET = "a-media-secret-for-tests"


def test_a_signature_is_valid_for_its_message_and_purpose_only() -> None:
    links, widget = Signer(SECRET, "links"), Signer(SECRET, "widget")
    signature = links.sign("/media/tickets/1-v1.png\n2000")
    assert links.valid("/media/tickets/1-v1.png\n2000", signature)
    assert not links.valid("/media/tickets/2-v1.png\n2000", signature)
    assert not widget.valid("/media/tickets/1-v1.png\n2000", signature)
    assert not Signer("another-secret", "links").valid("/media/tickets/1-v1.png\n2000", signature)
    assert not links.valid("/media/tickets/1-v1.png\n2000", "é" * len(signature))
    assert len(signature) == 32 and signature.isascii()


def test_a_signer_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="MATCHDAY_MEDIA_SECRET"):
        Signer("", "links")


def _token_signed_before_the_change(cid: str, expires: int) -> str:
    """A widget token as the desk issued them before `core.signing` (v1 format)."""
    key = hmac.new(SECRET.encode(), b"matchday widget token v1", hashlib.sha256).digest()
    mac = hmac.new(key, f"{cid}\n{expires}".encode(), hashlib.sha256).digest()[:24]
    return f"v1.{cid}.{expires}." + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def test_widget_tokens_issued_before_the_change_stay_valid_until_they_expire() -> None:
    cid = tokens.new_conversation_id()
    old = _token_signed_before_the_change(cid, 5000)
    assert tokens.verify(SECRET, old, now=4000).conversation_id == cid
    assert tokens.issue(SECRET, cid, ttl_s=1000, now=4000).value == old  # same format
    with pytest.raises(tokens.InvalidToken) as expired:
        tokens.verify(SECRET, old, now=5001)
    assert expired.value.code == "token_expired"


def _link_signed_before_the_change(path: str, expires: int) -> tuple[int, str]:
    mac = hmac.new(SECRET.encode(), f"{path}\n{expires}".encode(), hashlib.sha256)
    return expires, mac.hexdigest()[:32]


def test_media_links_made_before_the_change_stay_valid_until_they_expire() -> None:
    path = ticket_qr_path(7, 1)
    expires, signature = _link_signed_before_the_change(path, 5000)
    assert verify(SECRET, path, expires, signature, now=4000)
    assert not verify(SECRET, path, expires, signature, now=5001)
    assert not verify(SECRET, ticket_qr_path(8, 1), expires, signature, now=4000)
    # an old-style signature cannot be passed off as a version 2 link, nor the reverse
    assert not verify(SECRET, path, expires, signature, now=4000, version="2")


def test_version_2_links_carry_their_version_and_verify() -> None:
    path = ticket_qr_path(7, 3)
    query = parse_qs(urlsplit(signed_path(SECRET, path, ttl_s=60, now=1000)).query)
    assert query["v"] == ["2"] and query["exp"] == ["1060"]
    (signature,) = query["sig"]
    assert verify(SECRET, path, 1060, signature, now=1000, version="2")
    assert not verify(SECRET, path, 1060, signature, now=1000)  # without its version
    assert not verify(SECRET, path, 1060, signature, now=1000, version="3")
    assert not verify(SECRET, path, 1060, signature, now=1061, version="2")
