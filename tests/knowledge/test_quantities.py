import pytest

from knowledge.quantities import parse_concessions, parse_number, quantity_in


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
        ("4 aults + 1 kids pls", {"adult": 4, "child": 1}),  # a typo of a type
        ("2大1小", {"adult": 2, "child": 1}),
        ("一大一小", {"adult": 1, "child": 1}),
        ("成人1张 儿童1张", {"adult": 1, "child": 1}),  # the type first
        ("大人3个，小孩1个", {"adult": 3, "child": 1}),
        ("一个大人一个细路", {"adult": 1, "child": 1}),  # Cantonese
    ],
)
def test_ticket_types(text: str, counts: dict[str, int]) -> None:
    assert parse_concessions(text) == counts


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("want 2 tickets for northgate", 2),
        ("four seats please", 4),
        ("2x tix", 2),
        ("a ticket for Northgate pls", 1),
        ("两张二类", 2),
        ("我们3个人", 3),
        ("the match on 13 dec at 19:35", None),  # numbers without a unit are not counts
        ("cat 2 for the derby", None),
        ("looking for Category 1 seats", None),  # a category's number is no count
        ("2 category 1 seats", 2),
    ],
)
def test_quantity_in_a_sentence(text: str, number: int | None) -> None:
    assert quantity_in(text) == number
