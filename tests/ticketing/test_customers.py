"""Reading a fan's e-mail address out of what they typed, in either language."""

from __future__ import annotations

import pytest

from ticketing.customers import email_in


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("fan@example.com", "fan@example.com"),
        ("it's Lee.Wong+tix@mail.example.co.uk thanks", "Lee.Wong+tix@mail.example.co.uk"),
        ("我的邮箱fan-100008@example.com", "fan-100008@example.com"),  # no space around it
        ("是fan@example.cn，谢谢", "fan@example.cn"),
        ("email: a@b", None),
        ("no address here", None),
    ],
)
def test_an_address_is_found_in_a_sentence(text: str, address: str | None) -> None:
    assert email_in(text) == address
