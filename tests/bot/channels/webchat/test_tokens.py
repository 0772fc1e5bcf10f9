"""Widget tokens: scoped to one conversation, signed, expiring."""

from __future__ import annotations

import pytest

from bot.channels.webchat import tokens
from core.media import signed_path

SECRET = "a-media-secret"


def test_a_token_names_its_conversation_until_it_expires() -> None:
    cid = tokens.new_conversation_id()
    token = tokens.issue(SECRET, cid, ttl_s=60, now=1000)
    grant = tokens.verify(SECRET, token.value, now=1059)
    assert grant.conversation_id == cid and grant.expires == 1060
    with pytest.raises(tokens.InvalidToken) as expired:
        tokens.verify(SECRET, token.value, now=1061)
    assert expired.value.code == "token_expired"


def test_conversation_ids_are_random_and_fit_the_api_pattern() -> None:
    ids = {tokens.new_conversation_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("web-") and len(i) == 26 and "." not in i for i in ids)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),  # signature
        lambda v: v.replace("web-", "web-x", 1),  # another conversation
        lambda v: v.replace(".9999", ".19999", 1),  # a later expiry
        lambda v: "v2" + v[2:],
        lambda v: v + ".extra",
        lambda v: "",
        lambda v: "v1.web-abc.notanumber.sig",
        lambda v: "x" * 300,
        lambda v: "v1.web-abc.\u00b2\u00b3.sig",  # digits to isdigit(), not to int()
        lambda v: v[:-2] + "\u00e9\u00e9",  # compare_digest refuses non-ASCII text
        lambda v: v.replace(".9999", ".\u0669\u0669\u0669\u0669", 1),  # Arabic-Indic 9999
    ],
)
def test_a_changed_token_is_refused(tamper: object) -> None:
    value = tokens.issue(SECRET, tokens.new_conversation_id(), ttl_s=9999, now=0).value
    with pytest.raises(tokens.InvalidToken) as refused:
        tokens.verify(SECRET, tamper(value), now=1)  # type: ignore[operator]
    assert refused.value.code == "invalid_token"


def test_another_secret_or_none_refuses_the_token() -> None:
    value = tokens.issue(SECRET, tokens.new_conversation_id()).value
    for other in ("another-secret", ""):
        with pytest.raises(tokens.InvalidToken):
            tokens.verify(other, value)


def test_a_media_signature_is_no_token() -> None:
    # Same secret, different label: the QR links' signatures cannot be replayed as tokens.
    cid = tokens.new_conversation_id()
    link = signed_path(SECRET, cid, ttl_s=60, now=1000)
    sig = link.split("sig=")[1]
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(SECRET, f"v1.{cid}.1060.{sig}", now=1000)


def test_issuing_needs_a_secret_and_a_widget_conversation() -> None:
    with pytest.raises(ValueError, match="MATCHDAY_MEDIA_SECRET"):
        tokens.issue("", tokens.new_conversation_id())
    with pytest.raises(ValueError, match="not a widget conversation"):
        tokens.issue(SECRET, "tg-12345")


def test_tokens_live_a_week_by_default_and_are_renewed_past_half_their_life() -> None:
    token = tokens.issue(SECRET, tokens.new_conversation_id(), now=1000)
    assert token.expires == 1000 + 7 * 24 * 3600 == 1000 + tokens.DEFAULT_TTL_S
    ttl = tokens.DEFAULT_TTL_S
    assert not tokens.renewal_due(token, ttl, now=1000)
    assert not tokens.renewal_due(token, ttl, now=1000 + ttl / 2 - 1)
    assert tokens.renewal_due(token, ttl, now=1000 + ttl / 2 + 1)
    # One issued for longer (before the lifetime was shortened) is replaced at once.
    assert tokens.renewal_due(token, ttl_s=3600, now=1000)


def test_a_thirty_day_token_issued_before_keeps_verifying_until_it_expires() -> None:
    cid = tokens.new_conversation_id()
    old = tokens.issue(SECRET, cid, ttl_s=tokens.LONGEST_TTL_S, now=0)
    assert tokens.verify(SECRET, old.value, now=29 * 24 * 3600).conversation_id == cid
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(SECRET, old.value, now=tokens.LONGEST_TTL_S + 1)
