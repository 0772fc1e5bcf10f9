"""Orders bought elsewhere: verified with the order's e-mail and a mailed code, or refused."""

from __future__ import annotations

import re
import uuid

from tests.e2e.changes_support import buy_by_api, mail_to, order_of
from tests.e2e.conftest import Stack
from tests.e2e.test_purchase import all_text, press, say
from ticketing.ids import new_order_ref


def test_an_unlinked_order_is_verified_with_the_code_from_the_outbox(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    address = f"lee-{tag}@example.com"
    order = buy_by_api(stack, f"email:{address}", 1)
    ref = order["order_id"]
    conversation = f"verify-{tag}"
    chat = f"api:{conversation}"
    assert order_of(stack, chat, ref) == 404

    replies = say(stack, conversation, f"what's the status of order {ref}?")
    assert f"I can't see order {ref} in this chat" in all_text(replies)
    replies = say(stack, conversation, press(replies, "Verify it"))
    assert f"e-mail address used for order {ref}" in all_text(replies)
    replies = say(stack, conversation, address.upper())
    assert "I've just sent a 6-digit code" in all_text(replies)
    (mail,) = mail_to(stack, address)
    code = re.search(r"\b(\d{6})\b", mail["body"])
    assert code is not None
    replies = say(stack, conversation, code.group(1))
    assert f"Verified! Order {ref}" in all_text(replies)
    assert order_of(stack, chat, ref) == 200

    replies = say(stack, conversation, press(replies, "Refund it"))
    assert f"Refunding order {ref}" in all_text(replies)  # the order is serviced here now


def test_another_fans_order_is_refused(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    owner = f"api:owner-{tag}"
    order = buy_by_api(stack, owner, 1)
    ref = order["order_id"]
    conversation = f"snoop-{tag}"

    replies = say(stack, conversation, f"I want a refund for order {ref}")
    text = all_text(replies)
    assert f"I can't see order {ref} in this chat" in text and "Refunding" not in text
    missing = new_order_ref(ref.partition("-")[0])  # almost surely no such order
    unknown = say(stack, f"snoop-b-{tag}", f"I want a refund for order {missing}")
    assert all_text(unknown) == text.replace(ref, missing)  # the same words either way

    say(stack, conversation, "yes")
    guess = f"guess-{tag}@example.com"
    replies = say(stack, conversation, guess)
    assert f"If order {ref} was bought with {guess}" in all_text(replies)
    assert mail_to(stack, guess) == []
    replies = say(stack, conversation, "123456")
    assert "That code isn't right; you have 4 more tries" in all_text(replies)
    replies = say(stack, conversation, "cancel")
    assert "no verification then" in all_text(replies)
    assert order_of(stack, f"api:{conversation}", ref) == 404
    assert order_of(stack, owner, ref) == 200
