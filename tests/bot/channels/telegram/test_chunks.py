"""Splitting long replies on paragraph, line, then word boundaries."""

from __future__ import annotations

import pytest

from bot.channels.telegram.chunks import MESSAGE_LIMIT, split_text


def test_short_text_is_one_piece() -> None:
    assert split_text("  Hello fan.  ") == ["Hello fan."]
    assert split_text("") == []


def test_paragraphs_are_preferred_over_lines_and_words() -> None:
    text = "a" * 30 + "\n\n" + "b" * 10 + "\n" + "c" * 10 + " " + "d" * 5
    assert split_text(text, limit=50) == ["a" * 30, "b" * 10 + "\n" + "c" * 10 + " " + "d" * 5]
    assert split_text(text, limit=20) == ["a" * 20, "a" * 10, "b" * 10, "c" * 10 + " " + "d" * 5]


def test_lines_then_words() -> None:
    lines = "\n".join(f"line {n:02d} of the answer" for n in range(10))
    pieces = split_text(lines, limit=50)
    assert all(len(p) <= 50 for p in pieces)
    assert "\n".join(pieces) == lines
    words = " ".join(["word"] * 30)
    pieces = split_text(words, limit=22)
    assert all(len(p) <= 22 for p in pieces)
    assert " ".join(pieces) == words


def test_an_unbroken_run_is_cut_at_the_limit() -> None:
    assert split_text("x" * 10, limit=4) == ["xxxx", "xxxx", "xx"]


def test_chinese_without_spaces_and_the_real_limit() -> None:
    text = ("江畔体育场开门时间是开赛前两小时。" * 300).strip()
    pieces = split_text(text)
    assert all(len(p) <= MESSAGE_LIMIT for p in pieces)
    assert "".join(pieces) == text


def test_a_boundary_right_after_the_limit_is_used() -> None:
    assert split_text("abcd efgh", limit=4) == ["abcd", "efgh"]


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_text("x", limit=0)


def test_a_text_followed_by_its_image_becomes_one_captioned_photo() -> None:
    from bot.channels.telegram.channel import captioned
    from bot.conversations.service import Button, Reply

    link = "https://desk/media/tickets/1-v1.png?exp=1&sig=x"
    replies = [
        Reply("bot", "Paid! Order RA-1"),
        Reply("bot", "Ticket 1/2: seat W2-A-1"),
        Reply("bot", "", image=link),
        Reply("bot", "Ticket 2/2: seat W2-A-2"),
        Reply("bot", "", image=link),
        Reply("bot", "Anything else?", [Button("No", "/deny")]),
        Reply("bot", "", image=link),
    ]
    assert [(r.text, r.image) for r in captioned(replies)] == [
        ("Paid! Order RA-1", None),
        ("Ticket 1/2: seat W2-A-1", link),
        ("Ticket 2/2: seat W2-A-2", link),
        ("Anything else?", None),
        ("", link),  # a text with buttons keeps them: the image stays on its own
    ]
