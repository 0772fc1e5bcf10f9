"""The transfer form's actions: a ticket of the fan's own, a recipient, a fee, a new holder."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.transfers import (
    ActionConfirmTransfer,
    ActionQuoteTransfer,
    ValidateTransferForm,
    recipient_of,
)
from tests.actions.conftest import DOMAIN, responses, slots_of, tracker
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.mail import outbox
from ticketing.tickets import tickets_of

FAN = "api:transfer-fan"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my friend Lee@Example.com", "email:lee@example.com"),
        ("email:lee@example.com", "email:lee@example.com"),
        ("tg:12345", "tg:12345"),
        ("转给 wang@qq.com，谢谢", "email:wang@qq.com"),
        ("my brother", None),
        ("https://example.com", None),
    ],
)
def test_recipients_are_addresses_or_channel_ids(text: str, expected: str | None) -> None:
    assert recipient_of(text) == expected


def test_a_ticket_is_passed_on_after_the_fee_is_quoted_in_chinese(desk: Club) -> None:
    order = buy(desk, FAN, 1)
    form = ValidateTransferForm()
    start = tracker(FAN, "我想把票转给朋友", intent="exchange_transfer", language="zh")
    slots = asyncio.run(form.extract_transfer_ticket(CollectingDispatcher(), start, DOMAIN))
    assert slots == {"transfer_ticket": str(order.tickets[0].id)}  # the only one
    slots["requested_slot"] = "transfer_to"
    dispatcher = CollectingDispatcher()
    bad = asyncio.run(
        form.validate_transfer_to("我朋友", dispatcher, tracker(FAN, language="zh"), DOMAIN)
    )
    assert bad == {"transfer_to": None} and responses(dispatcher) == ["utter_recipient_invalid"]
    answer = tracker(FAN, "friend@example.com", slots=slots, language="zh")
    to = asyncio.run(form.extract_transfer_to(CollectingDispatcher(), answer, DOMAIN))
    assert to == {"transfer_to": "email:friend@example.com"}
    checked = asyncio.run(
        form.validate_transfer_to(to["transfer_to"], CollectingDispatcher(), answer, DOMAIN)
    )
    assert checked == to
    slots.update(to, requested_slot=None)

    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionQuoteTransfer().run(dispatcher, tracker(FAN, slots=slots, language="zh"), DOMAIN)
    )
    assert responses(dispatcher) == ["utter_transfer_quote"]
    assert dispatcher.messages[0]["recipient"] == "friend@example.com"
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["确认转让", "算了"]
    slots.update(slots_of(events))
    assert slots["change_stage"] == "transfer_quoted"
    with desk.db() as session:
        assert [t.status for t in tickets_of(session, FAN)] == ["valid"]  # nothing moved yet

    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionConfirmTransfer().run(dispatcher, tracker(FAN, slots=slots, language="zh"), DOMAIN)
    )
    assert responses(dispatcher) == ["utter_transfer_done_mailed"]
    assert slots_of(events)["transfer_ticket"] is None
    with desk.db() as session:
        assert tickets_of(session, FAN) == []
        (theirs,) = tickets_of(session, "email:friend@example.com")
        assert theirs.seat.label == order.tickets[0].seat.label
        (mail,) = outbox(session, to_address="friend@example.com")
    assert theirs.seat.label in mail.body and "http" in mail.body


def test_yourself_and_another_fans_order_are_refused(desk: Club) -> None:
    buy(desk, FAN, 1)
    theirs = buy(desk, "tg:not-me", 1)
    form = ValidateTransferForm()
    dispatcher = CollectingDispatcher()
    assert asyncio.run(form.validate_transfer_to(FAN, dispatcher, tracker(FAN), DOMAIN)) == {
        "transfer_to": None
    }
    assert responses(dispatcher) == ["utter_recipient_yourself"]
    asking = tracker(
        FAN,
        f"transfer {theirs.ref}",
        intent="exchange_transfer",
        entities={"order_ref": theirs.ref},
    )
    slots = asyncio.run(form.extract_transfer_ticket(CollectingDispatcher(), asking, DOMAIN))
    dispatcher = CollectingDispatcher()
    refused = asyncio.run(
        form.validate_transfer_ticket(slots["transfer_ticket"], dispatcher, asking, DOMAIN)
    )
    assert refused["transfer_ticket"] is None and refused["verification"] == "offered"
    with desk.db() as session:
        assert len(tickets_of(session, "tg:not-me")) == 1
