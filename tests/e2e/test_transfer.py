"""A fan passes a ticket on in the chat (Chinese): fee quoted, new holder's ticket mailed,
in an order of the new holder's own that the seller's order does not reveal."""

from __future__ import annotations

import uuid

from tests.e2e.changes_support import buy_by_api, mail_to
from tests.e2e.conftest import Stack
from tests.e2e.test_purchase import all_text, press, say, scan, tickets_of


def test_a_transfer_in_chinese(stack: Stack) -> None:
    conversation = f"trf-zh-{uuid.uuid4().hex[:8]}"
    customer = f"api:{conversation}"
    order = buy_by_api(stack, customer, 1)
    (old,) = order["tickets"]
    friend = f"friend-{uuid.uuid4().hex[:8]}@example.com"

    replies = say(stack, conversation, "我想把票转给朋友", language="zh")
    assert "转给谁" in all_text(replies)
    replies = say(stack, conversation, "我朋友", language="zh")
    assert "不像邮箱地址" in all_text(replies)
    replies = say(stack, conversation, friend, language="zh")
    quote = all_text(replies)
    assert f"把座位 {old['seat']['label']} 的票转给 {friend}" in quote and "手续费 ¥" in quote
    assert [t["code"] for t in tickets_of(stack, customer)] == [old["code"]]  # nothing moved yet

    replies = say(stack, conversation, press(replies, "确认转让"), language="zh")
    assert "转让成功" in all_text(replies)
    assert scan(stack, old["code"])["result"] == "revoked"
    assert tickets_of(stack, customer) == []
    (theirs,) = tickets_of(stack, f"email:{friend}")
    assert theirs["seat"]["label"] == old["seat"]["label"]
    assert scan(stack, theirs["code"])["result"] == "ok"
    (mail,) = mail_to(stack, friend)
    assert old["seat"]["label"] in mail["body"] and "http" in mail["body"]

    with stack.client() as client:
        seller_order = client.get(
            f"/api/v1/orders/{order['order_id']}", params={"customer": customer}
        )
        their_orders = client.get("/api/v1/orders", params={"customer": f"email:{friend}"})
    assert seller_order.status_code == 200, seller_order.text
    assert theirs["code"] not in seller_order.text
    assert [(t["id"], t["status"]) for t in seller_order.json()["tickets"]] == [
        (old["id"], "transferred")
    ]
    (their_order,) = their_orders.json()
    assert their_order["order_id"] != order["order_id"] and their_order["origin"] == "transfer"
    assert [t["code"] for t in their_order["tickets"]] == [theirs["code"]]
    assert their_order["order_id"] in mail["body"]
