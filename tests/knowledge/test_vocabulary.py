from pathlib import Path

import pytest

from knowledge.vocabulary import VocabularyError, read_vocabulary, vocabulary


@pytest.mark.parametrize(
    ("text", "key"),
    [("Category 1", "cat1"), ("cat 2 please", "cat2"), ("一等座", "cat1"), ("贵宾席", "premium"),
     ("the family stand", "family"), ("cheapest", "cat3"), ("accessible", "accessible"),
     ("cat1", "cat1"), ("nothing here", None)],
)  # fmt: skip
def test_categories(text: str, key: str | None) -> None:
    assert vocabulary().category(text) == key


def test_stands_and_match_nicknames() -> None:
    assert vocabulary().stand("the North Stand") == "N"
    assert vocabulary().stand("北看台") == "N"
    assert vocabulary().fixture_team("tickets for the derby") == "harbour-city"
    assert vocabulary().fixture_team("江港德比") == "harbour-city"
    assert vocabulary().fixture_team("West Stand") is None


def test_a_malformed_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "v.yml"
    path.write_text("categories: {cat1: 3}\nstands: {}\nfixtures: {}\n")
    with pytest.raises(VocabularyError, match=r"categories\.cat1"):
        read_vocabulary(path)
