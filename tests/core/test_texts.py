from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.texts import (
    Catalogue,
    MissingValue,
    TextsError,
    UnknownText,
    catalogue,
    check,
    check_code,
    load_catalogue,
    used_keys,
)

EN = """\
telegram:
  help: I'm the {club} ticket desk.
  language_set: OK, English from now on.
when:
  day: "on {day:%A %-d %B}"
"""
ZH = """\
telegram:
  help: 我是{club}票务助手。
  language_set: 好的，之后用中文。
when:
  day: "{day.month}月{day.day}日"
"""


def folder(tmp_path: Path, en: str = EN, zh: str = ZH) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "en.yml").write_text(en, encoding="utf-8")
    (tmp_path / "zh.yml").write_text(zh, encoding="utf-8")
    return tmp_path


def test_a_text_is_looked_up_by_key_and_language_and_filled(tmp_path: Path) -> None:
    texts = load_catalogue(folder(tmp_path))
    assert texts.text("telegram.help", "en", club="Riverside") == "I'm the Riverside ticket desk."
    assert texts.text("telegram.help", "zh", club="江畔竞技") == "我是江畔竞技票务助手。"
    saturday = date(2026, 12, 5)
    assert texts.text("when.day", "en", day=saturday) == "on Saturday 5 December"
    assert texts.text("when.day", "zh", day=saturday) == "12月5日"


def test_a_language_the_desk_does_not_write_falls_back_to_english(tmp_path: Path) -> None:
    texts = load_catalogue(folder(tmp_path))
    assert texts.text("telegram.language_set", "fr") == "OK, English from now on."
    assert texts.text("telegram.language_set", None) == "OK, English from now on."


def test_a_missing_value_or_an_unknown_key_is_a_clear_error(tmp_path: Path) -> None:
    texts = load_catalogue(folder(tmp_path))
    with pytest.raises(MissingValue, match=r"telegram\.help.*\{club\}"):
        texts.text("telegram.help", "en")
    with pytest.raises(UnknownText, match=r"telegram\.goodbye"):
        texts.text("telegram.goodbye", "en")


def test_a_key_missing_in_chinese_fails_the_check_and_the_loading(tmp_path: Path) -> None:
    path = folder(tmp_path, zh=ZH.replace("  language_set: 好的，之后用中文。\n", ""))
    assert check(path) == [f"{path / 'zh.yml'}: telegram.language_set: missing (it is in en.yml)"]
    with pytest.raises(TextsError) as caught:
        load_catalogue(path)
    assert caught.value.path == path / "zh.yml"
    assert caught.value.problem.startswith("telegram.language_set: missing")


def test_a_key_only_in_chinese_fails_the_check(tmp_path: Path) -> None:
    path = folder(tmp_path, zh=ZH + "  extra: 多余\n")
    assert check(path) == [f"{path / 'zh.yml'}: when.extra: not in en.yml"]


def test_different_placeholders_fail_the_check(tmp_path: Path) -> None:
    path = folder(tmp_path, zh=ZH.replace("我是{club}票务助手。", "我是{name}票务助手。"))
    problems = check(path)
    assert len(problems) == 1
    assert "telegram.help: placeholders ['name'] differ from en.yml's ['club']" in problems[0]


def test_an_empty_text_a_broken_placeholder_or_a_number_fails_the_check(
    tmp_path: Path,
) -> None:
    en = EN + "widget:\n  send: ''\n  queued: 'number {n in the queue'\n  size: 12\n"
    zh = ZH + "widget:\n  send: 发送\n  queued: '第 {n} 位'\n  size: 12\n"
    problems = check(folder(tmp_path, en=en, zh=zh))
    assert any(p.endswith("en.yml: widget.send: empty text") for p in problems)
    assert any("en.yml: widget.queued:" in p for p in problems)
    assert any(p.endswith("widget.size: expected a text, found int") for p in problems)


def test_the_desks_catalogue_is_sound_and_uses_the_club_placeholder() -> None:
    assert check() == []
    texts = catalogue()
    assert {"en", "zh"} <= set(texts.languages)
    for key in sorted(texts.keys()):
        assert "Riverside" not in texts.template(key, "en").replace('"Riverside Stadium"', "")
        assert "江畔竞技" not in texts.template(key, "zh"), key


def test_a_key_the_code_asks_for_that_the_catalogue_lacks_fails(tmp_path: Path) -> None:
    texts = folder(tmp_path / "texts")
    code = tmp_path / "code"
    code.mkdir()
    (code / "replies.py").write_text(
        "from core.texts import text\n\n"
        "def hello(language):\n"
        "    return text('telegram.help', language, club='x') + text('telegram.bye', language)\n"
        "\n"
        "def when():\n"
        "    return Range(label_key='when.someday')\n",
        encoding="utf-8",
    )
    (code / "widget.js").write_text('title.textContent = t("title");\n', encoding="utf-8")
    assert [use.key for use in used_keys([code])] == [
        "telegram.help",
        "telegram.bye",
        "when.someday",
        "widget.title",
    ]
    problems = check_code(texts, [code])
    assert problems == [
        f"{code / 'replies.py'}:4: telegram.bye: not in the catalogue ({texts})",
        f"{code / 'replies.py'}:7: when.someday: not in the catalogue ({texts})",
        f"{code / 'widget.js'}:1: widget.title: not in the catalogue ({texts})",
    ]


def test_the_catalogue_takes_any_language_with_english_as_the_reference() -> None:
    texts = Catalogue({"en": {"a.b": "Hi {name}"}, "zh": {"a.b": "你好 {name}"}})
    assert texts.area("a", "zh") == {"b": "你好 {name}"}
    assert "a.b" in texts and "a.c" not in texts
