"""Refunds in the chat: a received ticket's money goes back to the fan who paid."""

from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions.orders import ActionConfirmRefund, ActionQuoteRefund
from tests.actions.conftest import DOMAIN, responses, slots_of, tracker
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.transfers import transfer_ticket

SELLER, RECIPIENT = "api:refund-seller", "api:refund-recipient"


def _run(
    action: ActionQuoteRefund | ActionConfirmRefund, slots: dict[str, str]
) -> tuple[list[str], dict[str, object]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker(RECIPIENT, slots=slots), DOMAIN))
    return responses(dispatcher), slots_of(events)


def test_a_received_ticket_is_refunded_to_the_buyer_and_the_fan_is_told(desk: Club) -> None:
    order = buy(desk, SELLER, 1)
    done = transfer_ticket(desk.db, SELLER, order.tickets[0].id, RECIPIENT, keys=desk.keys)
    ref = done.ticket.order_ref
    said, slots = _run(ActionQuoteRefund(), {"order_ref": ref})
    assert said == ["utter_refund_quote_to_buyer"]
    said, _ = _run(ActionConfirmRefund(), {"order_ref": ref, "refund_quote": slots["refund_quote"]})
    assert said == ["utter_refund_done_to_buyer"]


def test_a_bought_ticket_is_refunded_to_the_fan_s_own_payment(desk: Club) -> None:
    order = buy(desk, RECIPIENT, 1)
    said, slots = _run(ActionQuoteRefund(), {"order_ref": order.ref})
    assert said == ["utter_refund_quote"]
    said, _ = _run(
        ActionConfirmRefund(), {"order_ref": order.ref, "refund_quote": slots["refund_quote"]}
    )
    assert said == ["utter_refund_done"]
