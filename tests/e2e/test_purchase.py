"""A fan buys tickets in the chat, from "I want tickets for the derby" to the gate."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.e2e.conftest import Stack


def say(stack: Stack, conversation: str, text: str, language: str = "en") -> list[dict[str, Any]]:
    body = stack.say(conversation, text, language=language)
    replies = body["replies"]
    assert isinstance(replies, list)
    return replies


def press(replies: list[dict[str, Any]], contains: str) -> str:
    """The payload of the first button whose title contains `contains`."""
    for reply in replies:
        for button in reply.get("buttons") or []:
            if contains in button["title"]:
                return str(button["payload"])
    raise AssertionError(f"no button with {contains!r} in {replies}")


def all_text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


def tickets_of(stack: Stack, customer: str) -> list[dict[str, Any]]:
    with stack.client() as client:
        response = client.get("/api/v1/tickets", params={"customer": customer})
    assert response.status_code == 200, response.text
    tickets: list[dict[str, Any]] = response.json()
    return tickets


def scan(stack: Stack, code: str) -> dict[str, Any]:
    with stack.client() as client:
        response = client.post("/api/v1/gate/scan", json={"code": code, "gate": "A"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_two_tickets_for_the_derby_in_english(stack: Stack) -> None:
    conversation = f"buy-en-{uuid.uuid4().hex[:8]}"
    replies = say(stack, conversation, "I want tickets for the derby")
    assert "Where would you like to sit" in all_text(replies)
    replies = say(stack, conversation, press(replies, "Category 1"))
    assert "How many tickets" in all_text(replies)
    replies = say(stack, conversation, "2 please")
    offer = all_text(replies)
    assert "2 seats together" in offer and "Shall I hold them" in offer
    replies = say(stack, conversation, "yes")
    assert "are yours until" in all_text(replies)
    replies = say(stack, conversation, press(replies, "Pay"))
    text = all_text(replies)
    assert "Paid! Order RA-" in text
    images = [r["image"] for r in replies if r.get("image")]
    assert len(images) == 2
    qr = httpx.get(images[0])
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG")

    tickets = tickets_of(stack, f"api:{conversation}")
    assert len(tickets) == 2
    for ticket in tickets:
        assert ticket["seat"]["section"] in ("W2", "W5", "E3", "E4")
        assert scan(stack, ticket["code"])["result"] == "ok"
        assert scan(stack, ticket["code"])["result"] == "already_used"


def test_one_ticket_in_chinese(stack: Stack) -> None:
    conversation = f"buy-zh-{uuid.uuid4().hex[:8]}"
    replies = say(stack, conversation, "我想买德比的票", language="zh")
    assert "想坐哪个区域" in all_text(replies)
    replies = say(stack, conversation, "二等座", language="zh")
    assert "要几张票" in all_text(replies)
    replies = say(stack, conversation, "一张", language="zh")
    assert "要帮你锁定吗" in all_text(replies)
    replies = say(stack, conversation, "好的", language="zh")
    assert "保留到" in all_text(replies)
    replies = say(stack, conversation, press(replies, "付款"), language="zh")
    assert "付款成功" in all_text(replies)
    tickets = tickets_of(stack, f"api:{conversation}")
    assert len(tickets) == 1
    assert scan(stack, tickets[0]["code"])["result"] == "ok"


def test_a_correction_and_a_cancellation(stack: Stack) -> None:
    conversation = f"buy-fix-{uuid.uuid4().hex[:8]}"
    say(stack, conversation, "I want tickets for the derby")
    say(stack, conversation, "category 2")
    replies = say(stack, conversation, "2")
    assert "2 seats together" in all_text(replies)
    replies = say(stack, conversation, "actually make it 3 tickets")
    assert "3 seats together" in all_text(replies)
    replies = say(stack, conversation, "cancel")
    assert "nothing was charged" in all_text(replies)
    assert tickets_of(stack, f"api:{conversation}") == []


def test_a_question_in_the_middle_is_answered_and_buying_goes_on(stack: Stack) -> None:
    conversation = f"buy-digress-{uuid.uuid4().hex[:8]}"
    say(stack, conversation, "I want tickets for the derby")
    replies = say(stack, conversation, "is the West Stand covered when it rains?")
    text = all_text(replies)
    assert "How many tickets" not in text, "a question must not be taken as the answer"
    assert "Where would you like to sit" in text, "the form asks again after the answer"
    assert len(replies) >= 2
    replies = say(stack, conversation, "category 2")
    assert "How many tickets" in all_text(replies)
