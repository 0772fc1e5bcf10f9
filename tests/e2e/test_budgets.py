"""Budgets that do not trust the customer id, through the real desk: fans who type in
the web widget, each in a fresh session (a new customer each time), from addresses the
trusted proxy (loopback, the default MATCHDAY_TRUSTED_PROXIES) names in X-Forwarded-For.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import Stack

WIDGET = "/api/v1/widget"


class WidgetFan:
    """One widget session, as the widget's script drives it."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    def say(self, text: str) -> str:
        """Send `text`; the bot's replies to it, joined."""
        frame_id = uuid.uuid4().hex
        self.socket.send(json.dumps({"type": "message", "id": frame_id, "text": text}))
        replies: list[str] = []
        while True:
            frame: dict[str, Any] = json.loads(self.socket.recv(timeout=60))
            if frame["type"] == "message" and frame["message"].get("sender") == "bot":
                replies.append(frame["message"].get("text") or "")
            if frame["type"] == "ack" and frame["id"] == frame_id:
                return "\n".join(replies)


@contextmanager
def widget_fan(stack: Stack, address: str) -> Iterator[WidgetFan]:
    """A fresh widget session from `address` (as the club's proxy reports it)."""
    headers = {"Origin": stack.base_url, "X-Forwarded-For": address}
    opened = httpx.post(f"{stack.base_url}{WIDGET}/sessions", headers=headers, timeout=30)
    assert opened.status_code == 201, opened.text
    url = stack.base_url.replace("http://", "ws://") + f"{WIDGET}/ws"
    with connect(url, additional_headers=headers, open_timeout=30) as socket:
        socket.send(json.dumps({"type": "hello", "token": opened.json()["token"]}))
        while json.loads(socket.recv(timeout=30))["type"] != "welcome":
            pass
        yield WidgetFan(socket)


def buy_six(fan: WidgetFan) -> str:
    """Type a purchase of 6 derby tickets up to the hold; the last replies."""
    replies = fan.say("I want 6 tickets for the derby")
    if "Where would you like to sit" in replies:
        replies = fan.say("category 2")
    if "How many tickets" in replies:
        replies = fan.say("6")
    assert "Shall I hold them" in replies, replies
    return fan.say("yes")


def test_fresh_widget_sessions_from_one_address_are_held_to_its_budget(stack: Stack) -> None:
    with stack.client() as client:
        before = client.get("/api/v1/risk", params={"minutes": 5}).json()["totals"]
    home, elsewhere = "203.0.113.50", "198.51.100.60"
    for _ in range(2):  # 12 seats held unpaid from one address: the budget
        with widget_fan(stack, home) as fan:
            assert "are yours until" in buy_six(fan)
    with widget_fan(stack, home) as fan:
        refused = buy_six(fan)
    assert "are yours until" not in refused
    assert "wait a minute" in refused
    with widget_fan(stack, elsewhere) as fan:
        assert "are yours until" in buy_six(fan)

    with stack.client() as client:
        risk = client.get("/api/v1/risk", params={"minutes": 5}).json()
    assert risk["totals"].get("address_budget", 0) == before.get("address_budget", 0) + 1
    assert any(m["reason"] == "address_budget" for m in risk["minutes"])
