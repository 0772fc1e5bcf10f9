"""Paying in the chat: the card is the desk's choice, never the fan's text."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.purchase import ActionPay
from bot.settings import get_settings
from tests.actions.conftest import DOMAIN, responses, tracker
from tests.ticketing.conftest import Club
from ticketing.holds import create_hold
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
