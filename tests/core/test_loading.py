from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from core.loading import DataFileError, load_model


class Gate(BaseModel):
    name: str
    opens_minutes: int


class Venue(BaseModel):
    gates: list[Gate]


def test_a_valid_file_becomes_the_model(tmp_path: Path) -> None:
    path = tmp_path / "venue.yml"
    path.write_text("gates:\n  - {name: North, opens_minutes: 90}\n", encoding="utf-8")
    assert load_model(path, Venue).gates == [Gate(name="North", opens_minutes=90)]


def test_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "venue.yml"
    path.write_text("gates:\n  - {name: North, opens_minutes: soon}\n", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        load_model(path, Venue)
    assert str(caught.value).startswith(f"{path}: gates.0.opens_minutes:")


@pytest.mark.parametrize(
    ("content", "problem"), [("gates: [unclosed", "not valid YAML"), (None, "cannot be read")]
)
def test_unreadable_files_are_named(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "venue.yml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFileError, match=problem) as caught:
        load_model(path, Venue)
    assert caught.value.path == path
