from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.channels.webchat import routes
from bot.channels.webchat.routes import TEXTS_MARKER, widget_script_source
from core.texts import Catalogue, catalogue


def served_texts(source: str) -> dict[str, dict[str, str]]:
    found = re.search(r"var TEXT = (\{.*\});", source)
    assert found, "the texts are written into the script"
    table: dict[str, dict[str, str]] = json.loads(found.group(1))
    return table


CLUB = {"en": "Harbourside Rovers", "zh": "港湾流浪者"}


def test_the_script_carries_the_widget_texts_and_the_club_name() -> None:
    source = widget_script_source(CLUB)
    assert TEXTS_MARKER not in source
    table = served_texts(source)
    assert table["club"] == CLUB
    assert table["en"]["title"] == "{club} fan help"
    assert table["zh"]["send"] == "发送"
    assert table["en"].keys() == table["zh"].keys() == catalogue().area("widget", "en").keys()


def test_every_text_the_script_asks_for_is_served() -> None:
    source = widget_script_source(CLUB)
    asked = set(re.findall(r"""\bt\(\s*["'](\w+)["']""", source))
    assert asked and asked <= served_texts(source)["en"].keys()


def test_the_texts_are_escaped_for_a_script() -> None:
    texts = Catalogue(
        {
            "en": {"widget.title": 'Fans "</script>" \u2028 help'},
            "zh": {"widget.title": "球迷服务"},
        }
    )
    source = widget_script_source(CLUB, texts)
    assert "</script>" not in source and "\u2028" not in source
    assert "球迷" not in source  # written as \\u escapes
    assert served_texts(source)["en"]["title"] == 'Fans "</script>" \u2028 help'


def test_a_script_without_its_marker_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "widget.js").write_text("var TEXT = {};\n", encoding="utf-8")
    monkeypatch.setattr(routes, "STATIC", tmp_path)
    with pytest.raises(RuntimeError, match=r"widget\.js"):
        widget_script_source(CLUB)
