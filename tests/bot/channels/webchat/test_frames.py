"""Frames a widget may send, and the clean refusals of everything else."""

from __future__ import annotations

import json

import pytest

from bot.channels.webchat.frames import (
    MAX_FRAME_BYTES,
    FanText,
    Hello,
    Ping,
    Refusal,
    Typing,
    parse,
)


def test_the_frames_of_a_conversation() -> None:
    assert parse('{"type": "hello", "token": "t", "after": 7}') == Hello("t", 7)
    assert parse('{"type": "hello", "token": "t"}') == Hello("t", 0)
    assert parse('{"type": "message", "id": "c-1", "text": "  hi  ", "language": "zh"}') == (
        FanText("c-1", "hi", "zh")
    )
    assert parse('{"type": "typing"}') == Typing()
    assert parse('{"type": "ping"}') == Ping()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\x00\x01", "binary_frame"),
        ("x" * (MAX_FRAME_BYTES + 1), "frame_too_large"),
        (json.dumps({"type": "message", "id": "a", "text": "字" * 6000}), "frame_too_large"),
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"type": "sticker"}', "unknown_type"),
        ('{"type": "message", "text": "hi"}', "invalid_id"),
        ('{"type": "message", "id": "has space", "text": "hi"}', "invalid_id"),
        ('{"type": "message", "id": "a", "text": 5}', "invalid_text"),
        ('{"type": "message", "id": "a", "text": "a\\u0000b"}', "invalid_text"),
        (json.dumps({"type": "hello", "token": "t", "after": 2**31}), "invalid_after"),
        ('{"type": "message", "id": "a", "text": "   "}', "empty_text"),
        (json.dumps({"type": "message", "id": "a", "text": "y" * 4001}), "text_too_long"),
        ('{"type": "message", "id": "a", "text": "hi", "language": "fr"}', "invalid_language"),
        ('{"type": "hello"}', "invalid_token"),
        ('{"type": "hello", "token": "t", "after": -1}', "invalid_after"),
        ('{"type": "hello", "token": "t", "after": true}', "invalid_after"),
    ],
)
def test_bad_frames_are_refused_with_a_code(raw: str | bytes, code: str) -> None:
    with pytest.raises(Refusal) as refusal:
        parse(raw)
    assert refusal.value.code == code
    body = refusal.value.as_json()
    assert body["type"] == "error" and body["code"] == code and body["message"]


def test_a_refusal_of_a_message_names_it() -> None:
    with pytest.raises(Refusal) as refusal:
        parse(json.dumps({"type": "message", "id": "m-9", "text": "z" * 4001}))
    assert refusal.value.as_json()["id"] == "m-9"
