"""The verification form's actions: the offer, the e-mail, the code, the linked order."""

from __future__ import annotations

import asyncio
import re

from rasa_sdk.executor import CollectingDispatcher

from actions.orders import ActionOrderStatus
from actions.verification import (
    ActionVerificationDone,
    ValidateVerifyForm,
)
from tests.actions.conftest import DOMAIN, responses, slots_of, tracker
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.mail import outbox
from ticketing.orders import orders_of

BUYER = "email:lee@example.com"
FAN = "api:chat-1"


def _code(club: Club) -> str:
    with club.db() as session:
        (mail,) = outbox(session, to_address="lee@example.com", limit=1)
    found = re.search(r"\b(\d{6})\b", mail.body)
    assert found
    return found.group(1)


def test_an_order_this_chat_cannot_see_is_offered_for_verification(desk: Club) -> None:
    order = buy(desk, BUYER, 1)
    for ref in (order.ref, "RA-ZZZZZZ"):  # another fan's order and none: the same reply
        dispatcher = CollectingDispatcher()
        events = asyncio.run(
            ActionOrderStatus().run(
                dispatcher,
                tracker(
                    FAN, f"status of {ref}", intent="order_status", entities={"order_ref": ref}
                ),
                DOMAIN,
            )
        )
        assert responses(dispatcher) == ["utter_offer_verification"]
        assert dispatcher.messages[0]["order_ref"] == ref
        assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/deny"]
        assert slots_of(events) == {"verification": "offered", "verify_order_ref": ref}


def test_the_right_address_and_code_link_the_order(desk: Club) -> None:
    order = buy(desk, BUYER, 2)
    form = ValidateVerifyForm()
    slots = {"verify_order_ref": order.ref, "requested_slot": "verify_email"}
    dispatcher = CollectingDispatcher()
    email = asyncio.run(
        form.extract_verify_email(
            dispatcher, tracker(FAN, "it's Lee@Example.com", slots=slots), DOMAIN
        )
    )
    assert email == {"verify_email": "Lee@Example.com"}
    done = asyncio.run(
        form.validate_verify_email(
            email["verify_email"], dispatcher, tracker(FAN, slots=slots), DOMAIN
        )
    )
    assert responses(dispatcher) == ["utter_verification_code_sent"]
    assert done["verify_email"] == "lee@example.com" and done["verify_challenge"]

    slots.update(done, requested_slot="verify_code")
    code = _code(desk)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    dispatcher = CollectingDispatcher()
    refused = asyncio.run(
        form.validate_verify_code(wrong, dispatcher, tracker(FAN, slots=slots), DOMAIN)
    )
    assert refused == {"verify_code": None}
    assert responses(dispatcher) == ["utter_verification_code_wrong"]
    assert dispatcher.messages[0]["attempts_left"] == 4

    extracted = asyncio.run(
        form.extract_verify_code(
            CollectingDispatcher(), tracker(FAN, f"the code is {code}", slots=slots), DOMAIN
        )
    )
    assert extracted == {"verify_code": code}
    ok = asyncio.run(
        form.validate_verify_code(code, CollectingDispatcher(), tracker(FAN, slots=slots), DOMAIN)
    )
    assert ok == {"verify_code": "ok", "verify_order_ref": order.ref}

    slots.update(ok)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionVerificationDone().run(dispatcher, tracker(FAN, slots=slots), DOMAIN)
    )
    assert responses(dispatcher) == ["utter_verification_done"]
    assert dispatcher.messages[0]["count"] == 2
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads[0] == f'/refund{{"order_ref":"{order.ref}"}}'
    assert slots_of(events)["verification"] is None
    with desk.db() as session:
        assert [o.ref for o in orders_of(session, FAN)] == [order.ref]


def test_a_wrong_address_gets_the_same_answer_and_no_code_works(desk: Club) -> None:
    order = buy(desk, BUYER, 1)
    form = ValidateVerifyForm()
    slots = {"verify_order_ref": order.ref, "requested_slot": "verify_email"}
    dispatcher = CollectingDispatcher()
    done = asyncio.run(
        form.validate_verify_email(
            "guess@example.com", dispatcher, tracker(FAN, slots=slots), DOMAIN
        )
    )
    assert responses(dispatcher) == ["utter_verification_code_sent"]
    slots.update(done)
    with desk.db() as session:
        assert outbox(session) == []
    for left in (4, 3, 2, 1):
        dispatcher = CollectingDispatcher()
        asyncio.run(
            form.validate_verify_code("000000", dispatcher, tracker(FAN, slots=slots), DOMAIN)
        )
        assert dispatcher.messages[0]["attempts_left"] == left
    dispatcher = CollectingDispatcher()
    last = asyncio.run(
        form.validate_verify_code("000000", dispatcher, tracker(FAN, slots=slots), DOMAIN)
    )
    assert last == {"verify_code": "stopped"}
    assert responses(dispatcher) == ["utter_verification_failed"]
    with desk.db() as session:
        assert orders_of(session, FAN) == []


def test_answers_that_are_not_an_address_or_a_code_are_asked_again(desk: Club) -> None:
    form = ValidateVerifyForm()
    slots = {"verify_order_ref": "RA-ZZZZZZ"}
    dispatcher = CollectingDispatcher()
    assert asyncio.run(
        form.validate_verify_email("lee at home", dispatcher, tracker(FAN, slots=slots), DOMAIN)
    ) == {"verify_email": None}
    assert responses(dispatcher) == ["utter_email_invalid"]
    dispatcher = CollectingDispatcher()
    assert asyncio.run(
        form.validate_verify_code("12345", dispatcher, tracker(FAN, slots=slots), DOMAIN)
    ) == {"verify_code": None}
    assert responses(dispatcher) == ["utter_verification_code_invalid"]
    stop = tracker(FAN, "cancel", intent="stop", slots={"requested_slot": "verify_email"})
    assert asyncio.run(form.extract_verify_email(CollectingDispatcher(), stop, DOMAIN)) == {}


def test_a_refund_for_an_order_bought_elsewhere_offers_verification(desk: Club) -> None:
    from actions.orders import ActionQuoteRefund, ValidateRefundForm

    order = buy(desk, BUYER, 1)
    form = ValidateRefundForm()
    asking = tracker(FAN, f"refund {order.ref}", intent="refund", entities={"order_ref": order.ref})
    # The fan has no orders here, but named one: the form checks it instead of ending.
    assert asyncio.run(
        form.required_slots(["order_ref"], CollectingDispatcher(), asking, DOMAIN)
    ) == ["order_ref"]
    dispatcher = CollectingDispatcher()
    refused = asyncio.run(form.validate_order_ref(order.ref, dispatcher, asking, DOMAIN))
    assert refused["order_ref"] is None and refused["verification"] == "offered"
    assert responses(dispatcher) == ["utter_offer_verification"]
    offered = tracker(FAN, slots={"verification": "offered"})
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionQuoteRefund().run(dispatcher, offered, DOMAIN))
    assert dispatcher.messages == []  # no quote, no second reply: the offer stands
