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
    ],
)
def test_the_language_a_message_is_clearly_written_in(text: str, expected: str | None) -> None:
    assert written_language(text) == expected
