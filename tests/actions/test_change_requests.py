"""Requests to exchange or pass on tickets start a form; questions about it are answered."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.change_requests import change_kind, change_request
from actions.language import ValidateSlotMappings
from tests.actions.conftest import DOMAIN, tracker


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to exchange my tickets", "exchange"),
        ("please swap my seats for the cup game", "exchange"),
        ("transfer my ticket to my brother please", "transfer"),
        ("我想换票", "exchange"),
        ("帮我把票转给朋友", "transfer"),
        ("can I exchange my ticket for another match?", None),
        ("if I can't go, can I give my ticket to a friend?", None),
        ("how much does it cost to transfer a ticket", None),
        ("票可以转给朋友吗？", None),
        ("能换票吗", None),
        ("", None),
    ],
)
def test_requests_and_questions(text: str, expected: str | None) -> None:
    assert change_request(text) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("can i pass on one tikcet to my brother", "transfer"),
        ("if I can't go, can I give my ticket to a friend?", "transfer"),
        ("我想送一张票给我弟", "transfer"),
        ("can i exhange my tickets RA-SVGLQF", "exchange"),
        ("RA-FNMC89这个订单可以改场次吗", "exchange"),
        ("i'd like to trasnfer one to my mate", "transfer"),  # misspelt
        ("what time is kick-off", None),
    ],
)
def test_what_a_question_about_changes_is_about(text: str, kind: str | None) -> None:
    assert change_kind(text) == kind


def test_the_slot_is_set_only_outside_other_processes() -> None:
    mappings = ValidateSlotMappings()
    asking = tracker("api:x", "I want to exchange my tickets", intent="exchange_transfer")
    assert asyncio.run(mappings.extract_change_request(CollectingDispatcher(), asking, DOMAIN)) == {
        "change_request": "exchange"
    }
    busy = tracker(
        "api:x", "I want to exchange my tickets", intent="exchange_transfer", active_loop="buy_form"
    )
    assert asyncio.run(mappings.extract_change_request(CollectingDispatcher(), busy, DOMAIN)) == {}
    tapped = tracker(
        "api:x",
        "/exchange_transfer",
        intent="exchange_transfer",
        entities={"change_request": "transfer"},
    )
    assert asyncio.run(mappings.extract_change_request(CollectingDispatcher(), tapped, DOMAIN)) == {
        "change_request": "transfer"
    }
    later = tracker("api:x", "thanks", intent="thanks", slots={"change_request": "exchange"})
    assert asyncio.run(mappings.extract_change_request(CollectingDispatcher(), later, DOMAIN)) == {
        "change_request": None
    }


def test_an_offer_to_verify_stands_for_one_answer() -> None:
    mappings = ValidateSlotMappings()
    offered = {"verification": "offered", "verify_order_ref": "RA-ZZZZZZ"}
    yes = tracker("api:x", "yes", intent="affirm", slots=offered)
    assert asyncio.run(mappings.extract_verification(CollectingDispatcher(), yes, DOMAIN)) == {}
    other = tracker("api:x", "which matches are on?", intent="match_availability", slots=offered)
    assert asyncio.run(mappings.extract_verification(CollectingDispatcher(), other, DOMAIN)) == {
        "verification": None,
        "verify_order_ref": None,
    }
