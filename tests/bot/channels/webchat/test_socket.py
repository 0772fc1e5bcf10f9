"""The widget's WebSocket: acks, replies, resends, refusals, catch-up and live events."""

from __future__ import annotations

import json
import logging
import socket as tcp
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from bot.channels.webchat import socket as widget_socket
from bot.channels.webchat.limits import Slots
from bot.handoff.agents import create_agent
from bot.handoff.events import Event
from core import correlation
from core.db import read_session
from tests.bot.channels.webchat.conftest import (
    CLUB,
    Socket,
    WidgetDesk,
    serving,
    widget_settings,
)
from tests.support.fake_rasa import FakeRasa
from tests.support.metrics import sample
from tests.support.server import free_port
from ticketing.risk import refusal_counts

PASSWORD = "correct horse battery staple"
MESSAGE_TOO_BIG = 1009  # RFC 6455 close code


def test_a_message_is_stored_answered_and_acknowledged(widget: WidgetDesk, rasa: FakeRasa) -> None:
    session = widget.session()
    cid = session["conversation_id"]
    with widget.socket(session["token"]) as socket:
        frames = socket.say("c-1", "hi", language="zh")
    assert [f["type"] for f in frames] == ["typing", "message", "message", "ack"]
    fan, bot = frames[1]["message"], frames[2]["message"]
    assert (fan["sender"], fan["text"], fan["client_message_id"]) == ("fan", "hi", "c-1")
    assert (bot["sender"], bot["text"]) == ("bot", "Hi! I'm the ticket desk.")
    assert frames[3] == {"type": "ack", "id": "c-1", "status": "bot"}
    sent = [r for r in rasa.received if r["sender"] == cid][-1]
    assert sent["metadata"]["channel"] == "web"
    assert sent["metadata"]["language"] == "zh"  # the widget's language switch
    assert sent["metadata"]["customer"] == f"web:{cid}"


def test_a_resent_message_is_not_processed_twice(widget: WidgetDesk, rasa: FakeRasa) -> None:
    session = widget.session()
    cid = session["conversation_id"]
    with widget.socket(session["token"]) as socket:
        socket.say("c-1", "wheelchair spaces?")
    calls = len([r for r in rasa.received if r["sender"] == cid])
    # After a reconnect the widget sends what it has not seen acknowledged, again.
    with widget.socket(session["token"], after=0) as again:
        frames = again.say("c-1", "wheelchair spaces?")
    assert [f["type"] for f in frames] == ["message", "message", "typing", "ack"]
    assert len([r for r in rasa.received if r["sender"] == cid]) == calls
    texts = [m["text"] for m in widget.history(session["token"]).json()["messages"]]
    assert texts == ["wheelchair spaces?", "Wheelchair spaces are in W-ACC."]


def test_a_reconnect_gets_only_what_it_missed(widget: WidgetDesk) -> None:
    session = widget.session()
    with widget.socket(session["token"]) as socket:
        first = socket.say("c-1", "hi")
        socket.say("c-2", "wheelchair")
    last_seen = first[2]["message"]["id"]
    with widget.socket(session["token"], after=last_seen) as again:
        missed = [again.receive()["message"]["text"] for _ in range(2)]
        again.send({"type": "ping"})
        assert again.receive() == {"type": "pong"}
    assert missed == ["wheelchair", "Wheelchair spaces are in W-ACC."]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{oops", "invalid_json"),
        (b"\x89PNG", "binary_frame"),
        ("x" * 17_000, "frame_too_large"),
        (json.dumps({"type": "message", "id": "big", "text": "y" * 4001}), "text_too_long"),
        (json.dumps({"type": "message", "text": "no id"}), "invalid_id"),
        (json.dumps({"type": "sticker", "id": "s"}), "unknown_type"),
        (json.dumps({"type": "hello", "token": "again"}), "already_connected"),
    ],
)
def test_bad_frames_are_refused_and_logged_and_the_socket_keeps_serving(
    widget: WidgetDesk, caplog: pytest.LogCaptureFixture, frame: str | bytes, code: str
) -> None:
    session = widget.session()
    with (
        caplog.at_level(logging.WARNING, logger="matchday.widget"),
        widget.socket(session["token"]) as socket,
    ):
        socket.send(frame)
        refusal = socket.receive()
        assert refusal["type"] == "error" and refusal["code"] == code, refusal
        assert refusal["message"]
        frames = socket.say("after", "hi")
    assert frames[-1]["type"] == "ack"
    assert any(code in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)


def test_a_bad_token_or_no_hello_closes_the_socket(widget: WidgetDesk) -> None:
    for hello, code in [
        ({"type": "hello", "token": "v1.web-xxxxxxxxxxxxxxxxxxxxxx.9999999999.forged"}, None),
        ({"type": "ping"}, "hello_required"),
    ]:
        socket = widget.connect()
        socket.send(hello)
        error = socket.receive()
        assert error["type"] == "error"
        assert error["code"] == (code or "invalid_token")
        with pytest.raises(ConnectionClosed) as closed:
            socket.receive()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_megabyte_frame_closes_the_socket_before_the_app_reads_it(widget: WidgetDesk) -> None:
    session = widget.session()
    socket = widget.socket(session["token"])
    socket.send({"type": "message", "id": "big", "text": "y" * (1024 * 1024)})
    with pytest.raises(ConnectionClosed) as closed:
        socket.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == MESSAGE_TOO_BIG


@pytest.mark.parametrize(
    "hello",
    [
        {"type": "hello", "token": "v1.web-xxxxxxxxxxxxxxxxxxxxxx.\u00b2\u00b2\u00b2.sig"},
        {"type": "hello", "token": "v1.web-xxxxxxxxxxxxxxxxxxxxxx.9999999999.\u00e9\u00e9"},
    ],
)
def test_a_crafted_hello_is_refused_not_crashed_on(
    widget: WidgetDesk, hello: dict[str, object]
) -> None:
    socket = widget.connect()
    socket.send(hello)
    error = socket.receive()
    assert error["type"] == "error" and error["code"] == "invalid_token"
    with pytest.raises(ConnectionClosed) as closed:
        socket.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_hello_after_a_message_id_no_database_holds_is_refused(widget: WidgetDesk) -> None:
    session = widget.session()
    socket = widget.connect()
    socket.send({"type": "hello", "token": session["token"], "after": 2**64})
    error = socket.receive()
    assert error["type"] == "error" and error["code"] == "invalid_after"
    with pytest.raises(ConnectionClosed) as closed:
        socket.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_socket_from_another_site_is_refused_at_the_handshake(widget: WidgetDesk) -> None:
    with pytest.raises(InvalidStatus) as refused:
        widget.connect(origin="https://evil.example")
    assert refused.value.response.status_code == 403


def test_floods_are_slowed_down_without_losing_the_socket(
    widget: WidgetDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default burst; a refill slow enough that a busy machine cannot refill it.
    monkeypatch.setattr(widget_socket, "MESSAGE_REFILL_PER_S", 1 / 3600)
    session = widget.session()
    with widget.socket(session["token"]) as socket:
        for n in range(12):
            socket.send({"type": "message", "id": f"f-{n}", "text": f"message {n}"})
        refusals, acks = [], []
        while len(refusals) + len(acks) < 12:
            frame = socket.receive()
            if frame["type"] == "error":
                refusals.append(frame)
            elif frame["type"] == "ack":
                acks.append(frame["id"])
    assert acks == [f"f-{n}" for n in range(widget_socket.MESSAGE_BURST)]
    assert [r["code"] for r in refusals] == ["slow_down", "slow_down"]
    assert [r["id"] for r in refusals] == ["f-10", "f-11"]


def test_when_the_assistant_is_down_the_widget_is_told_to_retry(
    sqlite_url: str, rasa: FakeRasa
) -> None:
    settings = widget_settings(sqlite_url, rasa, MATCHDAY_RASA_PORT=str(free_port()))
    with serving(settings) as desk:
        session = desk.session()
        with desk.socket(session["token"]) as socket:
            socket.send({"type": "message", "id": "c-1", "text": "hi"})
            error, _ = socket.until("error", timeout=60)
        messages = desk.history(session["token"]).json()["messages"]
    assert error["code"] == "assistant_unavailable"
    assert error["id"] == "c-1" and error["retry"] is True
    assert messages == []  # nothing half-stored: the resend starts clean


def test_queue_position_agent_typing_and_replies_arrive_live(widget: WidgetDesk) -> None:
    create_agent(
        widget.app.state.sessions, "wanda", PASSWORD, "agent", languages=["en"],
        display_name="Wanda",
    )  # fmt: skip
    login = httpx.post(
        f"{widget.base_url}/api/v1/agent/session",
        json={"username": "wanda", "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    agent = httpx.Client(
        base_url=widget.base_url, headers={"Authorization": f"Bearer {login.json()['token']}"}
    )
    session = widget.session()
    cid = session["conversation_id"]
    with widget.socket(session["token"]) as socket:
        frames = socket.say("c-1", "I want a human")
        status = [f for f in frames if f["type"] == "status"]
        assert status == [{"type": "status", "status": "queued", "position": 1}]
        assert frames[-1]["status"] == "queued"

        assert agent.post(f"/api/v1/agent/conversations/{cid}/claim").status_code == 200
        claimed, before = socket.until("status")
        assert claimed == {"type": "status", "status": "with_agent", "position": None}
        assert [f["message"]["sender"] for f in before if f["type"] == "message"] == ["system"]
        agent.post(f"/api/v1/agent/conversations/{cid}/typing")
        assert socket.until("typing")[0] == {"type": "typing", "who": "agent"}
        agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Wanda here."})
        reply, _ = socket.until("message")
        assert (reply["message"]["sender"], reply["message"]["text"]) == ("agent", "Wanda here.")

        # While an agent has the chat the fan's message goes to the agent, not the bot.
        frames = socket.say("c-2", "thanks Wanda")
        assert [f["message"]["text"] for f in frames if f["type"] == "message"] == ["thanks Wanda"]
        # A proactive message (the outbox's web sender) is pushed the same way.
        stored = {"id": 10_000, "sender": "system", "text": "Your match-day pack", "image": None}
        widget.app.state.handoff.bus.publish(Event("message", cid, {"message": stored}))
        widget.app.state.handoff.bus.publish(Event("message", "web-other", {"message": stored}))
        pushed, _ = socket.until("message")
        assert pushed["message"]["text"] == "Your match-day pack"
        socket.send({"type": "ping"})
        assert socket.until("pong")[1] == []  # the other conversation's event never came
    agent.close()


def test_a_second_tab_sees_the_first_tabs_messages_and_replies(widget: WidgetDesk) -> None:
    session = widget.session()
    with widget.socket(session["token"]) as first, widget.socket(session["token"]) as second:
        first.say("c-1", "wheelchair")
        seen = [second.until("message")[0]["message"]["text"] for _ in range(2)]
    assert seen == ["wheelchair", "Wheelchair spaces are in W-ACC."]


# --- caps on open sockets ------------------------------------------------------------------


def connect_from(widget: WidgetDesk, address: str) -> Socket:
    """A socket from another loopback address (another client, as the gateway sees it)."""
    url = urlsplit(widget.base_url)
    raw = tcp.create_connection((url.hostname, url.port), timeout=10, source_address=(address, 0))
    return Socket(connect(widget.ws_url, sock=raw, origin=CLUB, open_timeout=10))  # type: ignore[arg-type]


def refused_as(socket: Socket, code: str) -> None:
    """The socket is told `code`, then closed with 4429 and `code` as the reason."""
    assert socket.receive()["code"] == code
    with pytest.raises(ConnectionClosed) as closed:
        socket.receive()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4429, code)


def eventually(check: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, ConnectionClosed):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def sockets_refused(widget: WidgetDesk, expected: int) -> None:
    """Wait until `expected` refused sockets are counted (after their close)."""

    def counted() -> None:
        with read_session(widget.app.state.sessions) as session:
            assert refusal_counts(session, 0).get("widget_sockets", 0) == expected

    eventually(counted)


def test_a_sixth_socket_for_one_conversation_waits_for_a_tab_to_close(widget: WidgetDesk) -> None:
    session = widget.session()
    tabs = [widget.socket(session["token"]) for _ in range(5)]
    sixth = widget.connect()
    sixth.send({"type": "hello", "token": session["token"]})
    refused_as(sixth, "too_many_tabs")
    other = widget.session()  # another conversation is not held back
    with widget.socket(other["token"]) as socket:
        socket.send({"type": "ping"})
        assert socket.receive() == {"type": "pong"}
    sockets_refused(widget, 1)

    tabs.pop().close()
    tabs.append(eventually(lambda: widget.socket(session["token"])))  # its slot is free
    assert tabs[-1].say("c-1", "hi")[-1]["type"] == "ack"
    for tab in tabs:
        tab.close()


def test_sockets_per_client_address_are_capped(widget: WidgetDesk) -> None:
    widget.app.state.widget.address_sockets = Slots(3)
    session = widget.session()
    # Counted from the handshake: sockets that never say hello hold slots too.
    held = [widget.connect(), widget.connect(), widget.socket(session["token"])]
    refused_as(widget.connect(), "too_many_connections")
    sockets_refused(widget, 1)
    with connect_from(widget, "127.0.0.2") as neighbour:  # another address
        neighbour.send({"type": "hello", "token": session["token"]})
        assert neighbour.receive()["type"] == "welcome"
    held.pop(0).close()
    again = eventually(lambda: widget.socket(session["token"]))  # a slot is free again
    for socket in [*held, again]:
        socket.close()


# --- renewal -----------------------------------------------------------------------------


def test_an_open_socket_renews_its_token_past_half_its_life(widget: WidgetDesk) -> None:
    gate = widget.app.state.widget
    gate.ttl_s = 4
    session = widget.session()
    with widget.socket(session["token"]) as socket:
        renewed, _ = socket.until("token", timeout=10)
        assert renewed["token"] != session["token"]
        assert renewed["expires_at"] > session["expires_at"]
        grant = gate.verify(renewed["token"])
        assert grant.conversation_id == session["conversation_id"]
        assert grant.expires == renewed["expires_at"]
        # Past the first token's expiry the socket still serves (and renews again).
        time.sleep(max(0.0, session["expires_at"] + 0.5 - time.time()))
        assert socket.say("c-1", "hi")[-1]["type"] == "ack"
        again, _ = socket.until("token", timeout=10)
        assert again["expires_at"] > renewed["expires_at"]
    resumed = widget.open_session(token=again["token"])
    assert resumed.status_code == 200 and resumed.json()["resumed"] is True


# --- the log -----------------------------------------------------------------------------


def test_a_flood_of_bad_frames_makes_a_couple_of_log_lines_with_the_count(
    widget: WidgetDesk, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(widget_socket, "SWEEP_EVERY_S", 0.1)
    session = widget.session()
    flood = 200

    def refused_lines() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == "matchday.widget" and "refused" in r.getMessage()
        ]

    with caplog.at_level(logging.WARNING, logger="matchday.widget"):
        with widget.socket(session["token"]) as socket:
            for _ in range(flood):
                socket.send("{oops")
            for _ in range(flood):
                assert socket.receive()["code"] == "invalid_json"

        def summarised() -> list[str]:
            # The rest is counted once the interval ends, or the address's sockets closed.
            found = refused_lines()
            assert len(found) >= 2, found
            return found

        lines = eventually(summarised)
    assert len(lines) == 2, lines
    assert "invalid_json" in lines[0]
    assert f"refused {flood - 1} frames from 127.0.0.1" in lines[1]


def test_an_open_widget_socket_is_counted_while_it_is_open(widget: WidgetDesk) -> None:
    before = sample("matchday_websocket_sessions", kind="widget")
    session = widget.session()
    with widget.socket(session["token"]) as socket:
        socket.say("c-1", "hi")
        assert sample("matchday_websocket_sessions", kind="widget") == before + 1
    deadline = time.monotonic() + 5
    while sample("matchday_websocket_sessions", kind="widget") != before:
        assert time.monotonic() < deadline, "the closed socket is still counted"
        time.sleep(0.05)


def test_each_fan_message_reaches_rasa_with_a_correlation_id_of_its_own(
    widget: WidgetDesk, rasa: FakeRasa
) -> None:
    session = widget.session()
    cid = session["conversation_id"]
    with widget.socket(session["token"]) as socket:
        socket.say("c-1", "hi")
        socket.say("c-2", "wheelchair")
    ids = [r["metadata"].get("correlation_id") for r in rasa.received if r["sender"] == cid]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert all(correlation.sane(found) == found for found in ids), ids
