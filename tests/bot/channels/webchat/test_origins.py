"""MATCHDAY_WIDGET_ORIGINS: parsed strictly at start-up, matched as browsers send origins."""

from __future__ import annotations

import pytest

from bot.channels.webchat.origins import BadOriginSetting, OriginPolicy, normalise, parse_setting


def test_origins_are_normalised() -> None:
    assert parse_setting(["https://Club.Example/", "http://localhost:8080", "https://a.b:443"]) == {
        "https://club.example",
        "http://localhost:8080",
        "https://a.b",
    }
    assert normalise("http://[::1]:80") == "http://[::1]"


@pytest.mark.parametrize(
    ("entry", "hint"),
    [
        ("*", "not supported"),
        ("https://club.example/shop", "no path"),
        ("club.example", "not an origin"),
        ("ftp://club.example", "not an origin"),
        ("https://club.example:99999", "not an origin"),
    ],
)
def test_a_bad_entry_is_named(entry: str, hint: str) -> None:
    with pytest.raises(BadOriginSetting, match="MATCHDAY_WIDGET_ORIGINS") as error:
        parse_setting(["https://ok.example", entry])
    assert hint in str(error.value)


def test_listed_own_and_public_origins_are_allowed_others_not() -> None:
    policy = OriginPolicy(frozenset({"https://club.example"}), own="https://desk.example")
    assert policy.allows("https://club.example", "desk.internal:8000")
    assert policy.allows("https://CLUB.example:443", None)
    assert policy.allows("https://desk.example", "proxy:8000")
    assert policy.allows("http://127.0.0.1:8000", "127.0.0.1:8000")  # the demo page
    assert not policy.allows("https://evil.example", "desk.internal:8000")
    assert not policy.allows("http://club.example", None)  # scheme matters
    assert not policy.allows("https://club.example.evil.example", None)
    assert not policy.allows("null", "127.0.0.1:8000")
    assert not policy.allows(None, "127.0.0.1:8000")
    assert not policy.allows("http://127.0.0.1:9000", "127.0.0.1:8000")
