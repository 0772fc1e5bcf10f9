"""The exchange form's actions: only the fan's own orders, a quote first, then the swap."""

from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions.exchanges import (
    ActionAskChangeTickets,
    ActionAskExchangeFixture,
    ActionConfirmExchange,
    ActionQuoteExchange,
    ValidateExchangeForm,
    pick_tickets,
)
from actions.transfers import ActionKeepTickets
from tests.actions.conftest import DOMAIN, responses, slots_of, tracker
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.models import SeatClaim
from ticketing.orders import get_order, orders_of

FAN = "api:exchange-fan"


def test_the_only_order_is_chosen_and_another_fans_order_is_not_accepted(desk: Club) -> None:
    mine = buy(desk, FAN, 2)
    theirs = buy(desk, "tg:someone-else", 1)
    form = ValidateExchangeForm()
    start = tracker(FAN, "I want to exchange my tickets", intent="exchange_transfer")
    assert asyncio.run(form.extract_change_order(CollectingDispatcher(), start, DOMAIN)) == {
        "change_order": mine.ref
    }
    dispatcher = CollectingDispatcher()
    refused = asyncio.run(form.validate_change_order(theirs.ref, dispatcher, tracker(FAN), DOMAIN))
    assert refused["change_order"] is None and refused["verification"] == "offered"
    assert responses(dispatcher) == ["utter_offer_verification"]
    offered = tracker(FAN, slots={"verification": "offered"})
    assert (
        asyncio.run(form.required_slots(["change_order"], CollectingDispatcher(), offered, DOMAIN))
        == []
    )


def test_an_exchange_is_quoted_before_anything_changes_then_swapped(desk: Club) -> None:
    order = buy(desk, FAN, 2, section="A")
    form = ValidateExchangeForm()
    slots = {"change_order": order.ref, "requested_slot": "change_tickets"}
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAskChangeTickets().run(dispatcher, tracker(FAN, slots=slots), DOMAIN))
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert titles[0] == "All 2" and set(titles[1:]) == {t.seat.label for t in order.tickets}
    picked = asyncio.run(
        form.extract_change_tickets(
            CollectingDispatcher(), tracker(FAN, "both", slots=slots), DOMAIN
        )
    )
    assert sorted(picked["change_tickets"]) == sorted(str(t.id) for t in order.tickets)

    slots.update(picked, requested_slot="exchange_fixture")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAskExchangeFixture().run(dispatcher, tracker(FAN, slots=slots), DOMAIN))
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads[0] == f'/inform{{"fixture":"{order.fixture_id}"}}'  # same match first
    other = desk.fixtures[1]
    assert f'/inform{{"fixture":"{other}"}}' in payloads
    assert f'/inform{{"fixture":"{desk.fixtures[2]}"}}' not in payloads  # not on sale yet
    chosen = asyncio.run(
        form.extract_exchange_fixture(
            CollectingDispatcher(),
            tracker(
                FAN,
                f'/inform{{"fixture":"{other}"}}',
                entities={"fixture": str(other)},
                slots=slots,
            ),
            DOMAIN,
        )
    )
    assert chosen == {"exchange_fixture": str(other)}
    slots.update(chosen, requested_slot="exchange_seating")
    seating = asyncio.run(
        form.extract_exchange_seating(
            CollectingDispatcher(),
            tracker(FAN, "cat 3", entities={"category": "cat3"}, slots=slots),
            DOMAIN,
        )
    )
    assert seating == {"exchange_seating": "cat3"}
    slots.update(seating, requested_slot=None)

    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionQuoteExchange().run(dispatcher, tracker(FAN, slots=slots), DOMAIN))
    assert responses(dispatcher) == ["utter_exchange_quote"]
    quote = dispatcher.messages[0]
    assert quote["count"] == 2 and quote["fee"].startswith("¥") and "back" in quote["balance"]
    assert [b["payload"] for b in quote["buttons"]] == ["/affirm", "/deny"]
    set_ = slots_of(events)
    assert set_["change_stage"] == "exchange_quoted"
    with desk.db() as session:  # nothing swapped yet
        assert [t.status for t in get_order(session, FAN, order.ref).tickets] == ["valid", "valid"]

    slots.update(set_)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionConfirmExchange().run(dispatcher, tracker(FAN, slots=slots), DOMAIN))
    assert responses(dispatcher) == ["utter_exchange_done", "utter_ticket", "utter_ticket"]
    assert all("/media/" in m["image"] or "qr" in m["image"] for m in dispatcher.messages[1:])
    assert slots_of(events)["change_stage"] is None
    with desk.db() as session:
        old = get_order(session, FAN, order.ref)
        assert {t.status for t in old.tickets} == {"exchanged"}
        new_ref = dispatcher.messages[0]["order_ref"]
        new = get_order(session, FAN, new_ref)
        assert new.fixture_id == other and [t.status for t in new.tickets] == ["valid", "valid"]
        assert {t.seat.section for t in new.tickets} == {"B"}


def test_stopping_after_the_quote_gives_the_held_seats_back(desk: Club) -> None:
    order = buy(desk, FAN, 1)
    slots = {
        "change_order": order.ref,
        "change_tickets": [str(order.tickets[0].id)],
        "exchange_fixture": str(desk.fixtures[1]),
        "exchange_seating": "best",
    }
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionQuoteExchange().run(dispatcher, tracker(FAN, slots=slots), DOMAIN))
    slots.update(slots_of(events))
    with desk.db() as session:
        held = session.query(SeatClaim).filter_by(fixture_id=desk.fixtures[1]).count()
    assert held == 1
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionKeepTickets().run(dispatcher, tracker(FAN, "no", intent="deny", slots=slots), DOMAIN)
    )
    assert responses(dispatcher) == ["utter_change_kept"]
    assert slots_of(events)["exchange_quote"] is None
    with desk.db() as session:
        assert session.query(SeatClaim).filter_by(fixture_id=desk.fixtures[1]).count() == 0
        assert [o.ref for o in orders_of(session, FAN)] == [order.ref]


def test_tickets_are_picked_by_word_or_seat() -> None:
    class T:
        def __init__(self, i: int, label: str) -> None:
            self.id = i
            self.seat = type("S", (), {"label": label})()

    tickets = [T(1, "A-1-3"), T(2, "A-1-4")]
    assert pick_tickets("all", tickets) == [1, 2]
    assert pick_tickets("全部", tickets) == [1, 2]
    assert pick_tickets("just a-1-4 please", tickets) == [2]
    assert pick_tickets("hmm", tickets) is None
