"""Typed replies read against the buttons just offered (knowledge/typed.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.typed import Offered, is_question, match_button, read_typed_answers

MATCHES = [
    Offered("Riverside Athletic v Northgate United (Sun 6 Dec 19:35)", "/m1"),
    Offered("Riverside Athletic v Harbour City (Sun 13 Dec 19:35)", "/m2"),
    Offered("Riverside Athletic v Eastport Rovers (Sat 19 Dec 15:00)", "/m3"),
]
MATCHES_ZH = [
    Offered("江畔竞技 vs 北门联（12月6日 周日 19:35）", "/m1"),
    Offered("江畔竞技 vs 港城（12月13日 周日 19:35）", "/m2"),
    Offered("江畔竞技 vs 东港流浪者（12月19日 周六 15:00）", "/m3"),
]
SEATING = [
    Offered("Premium ¥850", "/premium"),
    Offered("Category 1 ¥475", "/cat1"),
    Offered("Category 2 ¥350", "/cat2"),
    Offered("Category 3 ¥225", "/cat3"),
    Offered("Family ¥188", "/family"),
    Offered("Best available", "/best"),
]
SEATING_ZH = [
    Offered("贵宾席 ¥850", "/premium"),
    Offered("二类席 ¥350", "/cat2"),
    Offered("家庭区 ¥188", "/family"),
    Offered("最好的位置", "/best"),
]
PAY = [Offered("Pay ¥1,140 (sandbox card)", "/affirm"), Offered("Cancel", "/stop")]
PAY_ZH = [Offered("付款 ¥1,140 (sandbox card)", "/affirm"), Offered("取消", "/stop")]
OFFER = [Offered("Yes, hold them", "/affirm"), Offered("Other seats", "/deny"),
         Offered("Cancel", "/stop")]  # fmt: skip
OFFER_ZH = [Offered("好的，就这些", "/affirm"), Offered("取消", "/stop")]
REFUND_ZH = [Offered("确认退票", "/affirm"), Offered("不退了", "/deny")]
QUANTITY = [Offered(str(n), f"/q{n}") for n in range(1, 7)]


@pytest.mark.parametrize(
    ("text", "offered", "payload"),
    [
        # the title, a near spelling, an abbreviation, the other script
        ("Category 2", SEATING, "/cat2"),
        ("categry 2", SEATING, "/cat2"),
        ("cat 2", SEATING, "/cat2"),
        ("c2", SEATING, "/cat2"),
        ("family pls", SEATING, "/family"),
        ("best available", SEATING, "/best"),
        ("二類席", SEATING_ZH, "/cat2"),
        ("要二类的票", SEATING_ZH, "/cat2"),
        ("harbour", MATCHES, "/m2"),
        ("Harbour City please", MATCHES, "/m2"),
        ("港城那场", MATCHES_ZH, "/m2"),
        ("the saturday game", MATCHES, "/m3"),
        ("周六那场", MATCHES_ZH, "/m3"),
        # a position
        ("the first one", MATCHES, "/m1"),
        ("2nd", MATCHES, "/m2"),
        ("the last one", MATCHES, "/m3"),
        ("第二场", MATCHES_ZH, "/m2"),
        ("最后一个", MATCHES_ZH, "/m3"),
        # a price
        ("cheapest", SEATING, "/family"),
        ("the cheapest ones please", SEATING, "/family"),
        ("最便宜的", SEATING_ZH, "/family"),
        ("most expensive", SEATING, "/premium"),
        # what a yes / no / cancel button does
        ("pay now", PAY, "/affirm"),
        ("let's pay", PAY, "/affirm"),
        ("ok go ahead", PAY, "/affirm"),
        ("付款", PAY_ZH, "/affirm"),
        ("支付", PAY_ZH, "/affirm"),
        ("付钱吧", PAY_ZH, "/affirm"),
        ("cancel", PAY, "/stop"),
        ("算了", PAY_ZH, "/stop"),
        ("ok hold them", OFFER, "/affirm"),
        ("sounds good", OFFER, "/affirm"),
        ("nah other seats", OFFER, "/deny"),
        ("好的，退吧", REFUND_ZH, "/affirm"),
        ("要", OFFER_ZH, "/affirm"),
        # a number button, in words or with a unit
        ("two please", QUANTITY, "/q2"),
        ("2 tickets", QUANTITY, "/q2"),
        ("3", QUANTITY, "/q3"),
    ],
)
def test_a_typed_reply_names_one_button(text: str, offered: list[Offered], payload: str) -> None:
    found = match_button(text, offered)
    assert found is not None and found.payload == payload


@pytest.mark.parametrize(
    ("text", "offered"),
    [
        ("Riverside", MATCHES),  # in every title
        ("the sunday one", MATCHES),  # two Sunday matches
        ("category", SEATING),
        ("category 2, 3 tickets", SEATING),  # more than one answer: the NLU's
        ("2", SEATING),  # a digit alone names a button only as its whole title
        ("can I pay with Alipay?", PAY),  # a question
        ("how do i pay", PAY),  # a question without its question mark
        ("付款怎么付", PAY_ZH),
        ("no wait", PAY),  # a negation is no yes
        ("不要付款", PAY_ZH),
        ("我想退票", REFUND_ZH),  # a one-character yes ("退") only as the whole reply
        ("yes but make it 3", OFFER),  # a change of mind
        ("2 adults and 1 child", QUANTITY),
        ("the seventh one", MATCHES),
        ("/affirm", PAY),  # intent syntax is the service's to check, never a typed reply
        ("I'd like to pay now please, and can you also tell me where the West Stand is", PAY),
        ("pay now", []),
    ],
)
def test_anything_else_is_left_to_the_nlu(text: str, offered: list[Offered]) -> None:
    assert match_button(text, offered) is None


def test_a_broken_word_list_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "typed_answers.yml"
    broken.write_text("version: 1\nintents: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"typed_answers\.yml"):
        read_typed_answers(broken)


@pytest.mark.parametrize(
    ("text", "payload"),
    [("yes please", "/start_transfer"), ("好的", "/start_transfer"), ("no thanks", "/deny")],
)
def test_a_title_that_starts_with_yes_is_a_yes(text: str, payload: str) -> None:
    offered = [Offered("Yes, pass one on now", "/start_transfer"), Offered("No thanks", "/deny")]
    offered_zh = [Offered("好的，现在转让", "/start_transfer"), Offered("不用了", "/deny")]
    found = match_button(text, offered_zh if text == "好的" else offered)
    assert found is not None and found.payload == payload


@pytest.mark.parametrize(
    ("text", "offered", "payload"),
    [
        ("要2类", SEATING_ZH, "/cat2"),
        ("the next one", MATCHES, "/m1"),
        ("下一场", MATCHES_ZH, "/m1"),
        ("现在付", PAY_ZH, "/affirm"),
    ],
)
def test_more_ways_to_name_a_button(text: str, offered: list[Offered], payload: str) -> None:
    found = match_button(text, offered)
    assert found is not None and found.payload == payload


@pytest.mark.parametrize(
    ("text", "offered"),
    [
        ("其实要三张", [Offered("好的，就这些", "/affirm"), Offered("取消", "/stop")]),
        ("actually make it four", OFFER),
        ("ok two more", OFFER),
    ],
)
def test_a_change_of_mind_is_no_yes(text: str, offered: list[Offered]) -> None:
    assert match_button(text, offered) is None


def test_the_word_lists_are_words() -> None:
    # YAML reads a bare `on`, `yes` or `no` as a boolean: the file quotes them.
    words = read_typed_answers()
    assert {"on", "yes", "ok"} <= words.fillers_en
    assert "no" in words.intents["deny"]["en"] and "yes" in words.intents["affirm"]["en"]
    assert "go on" in words.intents["affirm"]["en"] and "hold on" in words.negations["en"]


def test_a_buy_button_is_not_a_yes_button() -> None:
    listing = [Offered("买 北门联 的票", '/buy_tickets{"fixture":"1"}'),
               Offered("买 港城 的票", '/buy_tickets{"fixture":"2"}')]  # fmt: skip
    assert match_button("您好，我想购买比赛门票", listing) is None
    assert match_button("perefct", OFFER) == OFFER[0]  # a typo of a yes
    assert match_button("yes please go ahead and hold those seats for me", OFFER) is None


@pytest.mark.parametrize(
    ("text", "asked"),
    [("how do i pay", True), ("家庭区离厕所近吗", True), ("is it covered", True),
     ("二类席", False), ("pay now", False), ("ok", False), ("cheapest pls", False)],
)  # fmt: skip
def test_a_question_without_its_question_mark(text: str, asked: bool) -> None:
    assert is_question(text) is asked
