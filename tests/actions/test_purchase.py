"""Buying in the chat: the card is the desk's choice, never the fan's text; buying asked for
in words the classifier could not place."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.purchase import ActionHoldSeats, ActionPay, named_category, wants_to_buy
from core.settings import get_settings
from core.texts import text
from tests.actions.conftest import DOMAIN, responses, tracker
from tests.ticketing.conftest import Club
from ticketing.fixtures import seat_map
from ticketing.holds import create_hold
from ticketing.models import Hold
from ticketing.risk import refusal_counts
from ticketing.tickets import tickets_of

FAN = "api:pay-fan"


def _pay(entities: dict[str, str] | None, hold_id: str) -> list[str]:
    dispatcher = CollectingDispatcher()
    asyncio.run(
        ActionPay().run(
            dispatcher,
            tracker(FAN, "pay", intent="affirm", entities=entities, slots={"hold_id": hold_id}),
            DOMAIN,
        )
    )
    return responses(dispatcher)


def test_a_payment_token_entity_does_not_change_what_is_charged(desk: Club) -> None:
    hold = create_hold(desk.db, FAN, desk.fixture, 1)
    said = _pay({"payment_token": "tok_decline"}, hold.id)
    assert "utter_order_paid" in said and "utter_payment_declined" not in said
    with desk.db() as session:
        assert len(tickets_of(session, FAN)) == 1


def test_the_desk_configured_card_is_charged(desk: Club, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHDAY_SANDBOX_CARD", "tok_decline")
    get_settings.cache_clear()
    hold = create_hold(desk.db, FAN, desk.fixture, 1)
    said = _pay({"payment_token": "tok_ok"}, hold.id)
    assert said[0] == "utter_payment_declined"
    with desk.db() as session:
        assert tickets_of(session, FAN) == []


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("ticket for away city pls, Premium if possible", True),
        ("客队 2张 家庭区", True),
        ("2 tickets in cat 1", True),
        ("tickets plz", True),
        ("买票", True),
        ("can I buy 2 for Away City?", True),  # a question with a buying verb
        ("is Away City sold out?", False),  # a question about it
        ("my family and I love this club", False),  # "family" in passing is no category
        ("what time do the gates open", False),
        ("tickets for Away City", True),  # a team and a ticket word
    ],
)
def test_buying_in_words_the_classifier_could_not_place(
    desk: Club, text: str, wanted: bool
) -> None:
    assert wants_to_buy(text) is wanted


@pytest.mark.parametrize(
    ("text", "category"),
    [("2 tickets in cat 1", "cat1"), ("要两张二类席", "cat2"), ("c3 please", "cat3"),
     ("family zone for 4", "family"), ("me and my family", None)],
)  # fmt: skip
def test_a_category_named_in_a_sentence(text: str, category: str | None) -> None:
    assert named_category(text) == category


def _hold_seats(
    customer: str, seat_ids: list[int], fixture: int, metadata: dict[str, Any]
) -> CollectingDispatcher:
    turn = tracker(
        customer, "yes", intent="affirm", slots={"offer": seat_ids, "fixture_id": fixture}
    )
    turn.latest_message["metadata"].update(metadata)
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionHoldSeats().run(dispatcher, turn, DOMAIN))
    return dispatcher


def _free_block(desk: Club, count: int) -> list[int]:
    with desk.db() as session:
        seats = seat_map(session, desk.fixture, desk.sections["A"])
    return [s.id for s in seats if s.status == "available"][:count]


def test_holds_in_the_chat_carry_the_gateway_s_source_and_keep_to_its_budget(desk: Club) -> None:
    source = {"source": {"address": "203.0.113.70", "origin": "https://club.example"}}
    for n in range(2):  # fresh widget sessions, 6 seats each: 12 held from one address
        said = _hold_seats(f"web:s{n}", _free_block(desk, 6), desk.fixture, source)
        assert responses(said) == ["utter_seats_held"]
    said = _hold_seats("web:s9", _free_block(desk, 6), desk.fixture, source)
    assert responses(said) == ["utter_hold_refused_rate_limited"]
    with desk.db() as session:
        addresses = session.scalars(select(Hold.source_address).distinct()).all()
        assert refusal_counts(session, desk.fixture) == {"address_budget": 1}
    assert addresses == ["203.0.113.70"]


def test_no_seats_are_held_and_no_order_shown_in_a_group_chat(desk: Club) -> None:
    group = {"client": {"telegram": {"chat_id": -100, "chat_type": "group"}}}
    said = _hold_seats("tg:70", _free_block(desk, 2), desk.fixture, group)
    assert [m.get("text") for m in said.messages] == [text("groups.private_only", "en")]
    with desk.db() as session:
        assert session.scalar(select(func.count()).select_from(Hold)) == 0
