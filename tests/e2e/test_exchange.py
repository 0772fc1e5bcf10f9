"""A fan exchanges tickets in the chat (English): quote first, new codes, old ones revoked."""

from __future__ import annotations

import uuid

from tests.e2e.changes_support import buy_by_api
from tests.e2e.conftest import Stack
from tests.e2e.test_purchase import all_text, press, say, scan, tickets_of


def test_an_exchange_in_english(stack: Stack) -> None:
    conversation = f"xch-en-{uuid.uuid4().hex[:8]}"
    customer = f"api:{conversation}"
    order = buy_by_api(stack, customer, 2)
    old_codes = [t["code"] for t in order["tickets"]]

    replies = say(stack, conversation, "I want to exchange my tickets")
    assert "All the tickets of this order, or just one" in all_text(replies)
    replies = say(stack, conversation, press(replies, "All 2"))
    assert "Which match would you like instead" in all_text(replies)
    replies = say(stack, conversation, press(replies, "Same match"))
    assert "Where would you like to sit" in all_text(replies)
    replies = say(stack, conversation, press(replies, "Best available"))
    quote = all_text(replies)
    assert f"Exchanging 2 ticket(s) of order {order['order_id']}" in quote
    assert "fee ¥" in quote and "Shall I go ahead?" in quote
    # Nothing has changed before the fan confirms (a scan would check the tickets in).
    assert {t["code"] for t in tickets_of(stack, customer)} == set(old_codes)

    replies = say(stack, conversation, "yes")
    text = all_text(replies)
    assert "Done! Your new order is RA-" in text
    assert f"old QR codes of order {order['order_id']} no longer work" in text
    assert len([r for r in replies if r.get("image")]) == 2
    for code in old_codes:
        assert scan(stack, code)["result"] == "revoked"
    new = [t for t in tickets_of(stack, customer) if t["code"] not in old_codes]
    assert len(new) == 2
    for ticket in new:
        assert scan(stack, ticket["code"])["result"] == "ok"


def test_stopping_an_exchange_keeps_the_tickets(stack: Stack) -> None:
    conversation = f"xch-stop-{uuid.uuid4().hex[:8]}"
    customer = f"api:{conversation}"
    order = buy_by_api(stack, customer, 1)
    replies = say(stack, conversation, "please swap my seats")
    assert "Which match would you like instead" in all_text(replies)
    replies = say(stack, conversation, "cancel")
    assert "your tickets stay as they are" in all_text(replies)
    (ticket,) = tickets_of(stack, customer)
    assert ticket["code"] == order["tickets"][0]["code"]
