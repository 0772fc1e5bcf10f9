import pytest

from knowledge.language import detect_language


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
