import pytest

from knowledge.language import detect_language, written_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi", "en"),
        ("我想买Man Utd的票", "zh"),
        ("W3区还有seat吗", "zh"),
        ("我想買ＶＩＰ門票 2張", "zh"),  # traditional, full-width letters
        ("我哋想買兩張飛", "zh"),  # Hong Kong Cantonese
        ("チケットはありますか", "en"),  # Japanese: not Chinese, the desk answers in English
        ("", "en"),
        ("👍", "en"),
    ],
)
def test_script_decides(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我想买两张票", "zh"),
        ("hi 買票", "zh"),
        ("where is the west stand please", "en"),
        ("2", None),
        ("ok", None),
        ("pay now", None),  # a Chinese fan types this too
        ("cat2", None),
        ("チケットを二枚", None),  # kana: neither of the desk's languages
        ("friend-d0bb4f9d@example.com", None),  # an address, typed to a Chinese question
        ("mary.ann.smith-jones@mail.example.co.uk", None),
        ("https://tickets.example.com/my/orders", None),
        ("RA-7F3K-Q9 RA-2B4C-D1", None),
        ("send it to mary@example.com please, thanks a lot", "en"),
    ],
)
def test_the_language_a_message_is_clearly_written_in(text: str, expected: str | None) -> None:
    assert written_language(text) == expected
