import pytest

from knowledge.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi", "en"),
        ("我想买Man Utd的票", "zh"),
        ("W3区还有seat吗", "zh"),
        ("チケットはありますか", "en"),  # Japanese: not Chinese, the desk answers in English
        ("", "en"),
        ("👍", "en"),
    ],
)
def test_script_decides(text: str, expected: str) -> None:
    assert detect_language(text) == expected
