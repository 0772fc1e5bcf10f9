import pytest

from knowledge.quantities import parse_concessions, parse_number


@pytest.mark.parametrize(
    ("text", "number"),
    [("2", 2), ("two please", 2), ("两", 2), ("三张", 3), ("十二", 12), ("４", 4),
     ("a pair", 2), ("make it 3 tickets", 3), ("just one", 1), ("hello", None), ("", None)],
)  # fmt: skip
def test_numbers_in_words_and_digits(text: str, number: int | None) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("2 adults and a kid", {"adult": 2, "child": 1}),
        ("one adult, two children", {"adult": 1, "child": 2}),
        ("两个大人一个小孩", {"adult": 2, "child": 1}),
        ("1 senior", {"senior": 1}),
        ("3 tickets", {}),
    ],
)
def test_ticket_types(text: str, counts: dict[str, int]) -> None:
    assert parse_concessions(text) == counts
