"""Which script a fan writes Chinese in, and the desk reading and answering in it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from knowledge import script
from knowledge.script import script_of, to_script, to_simplified


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("門票", "门票"),
        ("會員", "会员"),
        ("我想買ＶＩＰ門票 2張", "我想买VIP门票 2张"),
        ("我哋想買兩張飛，幾時開賣？", "我哋想买两张飞，几时开卖？"),  # Hong Kong Cantonese
        ("請問幾點開門？", "请问几点开门？"),
    ],
)
def test_traditional_text_is_read_as_simplified(traditional: str, simplified: str) -> None:
    assert script_of(traditional) == "traditional"
    assert to_simplified(traditional) == simplified
    assert script_of(simplified) == "simplified"
    assert to_simplified(simplified) == simplified


def test_a_reply_goes_back_in_traditional_characters() -> None:
    assert to_script("门票", "traditional") == "門票"
    assert to_script("会员", "traditional") == "會員"
    assert to_script("我想买VIP门票 2张", "traditional") == "我想買VIP門票 2張"
    assert to_script("门票", "simplified") == "门票"


def test_replies_use_the_standard_traditional_forms_without_changing_words() -> None:
    assert to_script("为什么", "traditional") == "為什麼"  # not OpenCC's own 爲
    assert to_script("群众", "traditional") == "群眾"  # not 羣衆
    assert to_script("网络信息", "traditional") == "網絡信息"  # not Taiwan's 網路資訊


def test_characters_shared_by_both_scripts_are_unchanged_and_simplified() -> None:
    assert to_simplified("退票") == to_script("退票", "traditional") == "退票"
    assert script_of("退票") == "simplified"


def test_english_text_has_no_script_and_is_unchanged() -> None:
    text = "Can I get a refund for 2 tickets? Order MD-2026-0042"
    assert script_of(text) is None
    assert to_simplified(text) == text
    assert to_script(text, "traditional") == text
    assert script_of("２ ＶＩＰ") is None


def test_full_width_letters_and_digits_are_folded_but_chinese_punctuation_stays() -> None:
    assert to_simplified("ＱＲ碼") == "QR码"
    assert to_simplified("２张") == "2张"
    assert to_simplified("ＶＩＰ　２張／３張") == "VIP 2张/3张"
    assert to_simplified("好的，谢谢！（东看台）：几点？") == "好的，谢谢！（东看台）：几点？"
    # What Chinese writing uses on purpose is not NFKC-folded.
    assert to_simplified("等一下…①号门 20㎡") == "等一下…①号门 20㎡"


def test_mixed_chinese_and_english_is_judged_on_its_chinese() -> None:
    assert script_of("Can I buy 門票 for the derby?") == "traditional"
    assert script_of("Can I buy 门票 for the derby?") == "simplified"


def test_a_place_name_written_the_taiwanese_way_is_traditional() -> None:
    assert script_of("台灣的球迷可以買票嗎") == "traditional"
    assert script_of("台灣") == "traditional"


def test_one_stray_traditional_character_in_simplified_text_does_not_flip_it() -> None:
    assert script_of("我想买两张门票，門") == "simplified"


def test_converters_are_built_once_whatever_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    class Counting(script.OpenCC):
        def __init__(self, config: str, *args: Any, **kwargs: Any) -> None:
            built.append(config)
            super().__init__(config, *args, **kwargs)

    monkeypatch.setattr(script, "OpenCC", Counting)
    monkeypatch.setattr(script, "_converters", {})
    start = threading.Barrier(8)
    results: list[str] = []

    def convert() -> None:
        start.wait()
        results.append(to_script(to_simplified("會員門票"), "traditional"))

    threads = [threading.Thread(target=convert) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["會員門票"] * 8
    assert sorted(built) == ["s2tw", "t2s"]
