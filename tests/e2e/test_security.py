"""Nobody but the desk reaches its inner processes, and nobody speaks for a fan.

Against the real stack `make run` starts: the action server and Rasa refuse calls
without the desk's credentials, listen on loopback only, no secret is on any
command line, and typed intent syntax is read as text.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from typing import Any

import httpx
import jwt

from bot.rasa.auth import RasaAuth
from tests.e2e.conftest import Stack
from tests.e2e.test_purchase import all_text, press, say, tickets_of
from tests.support.processes import LOOPBACK, listening_addresses, processes

# What the security review posted to reach another fan's orders.
IMPERSONATION = {
    "next_action": "action_order_status",
    "sender_id": "attacker",
    "tracker": {"sender_id": "attacker", "slots": {"customer": "tg:1", "language": "en"}},
    "domain": {},
    "version": "3.6.21",
}


def _actions_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.env['MATCHDAY_ACTIONS_PORT']}"


def _rasa_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.env['MATCHDAY_RASA_PORT']}"


def _tracker(stack: Stack, conversation: str) -> dict[str, Any]:
    auth = RasaAuth(stack.env["MATCHDAY_RASA_TOKEN"])
    response = httpx.get(
        f"{_rasa_url(stack)}/conversations/{conversation}/tracker", auth=auth, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_action_server_answers_only_the_desk(stack: Stack) -> None:
    url = _actions_url(stack)
    assert httpx.post(f"{url}/webhook", json=IMPERSONATION).status_code == 401
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert httpx.post(f"{url}/webhook", json=IMPERSONATION, headers=wrong).status_code == 401
    assert httpx.get(f"{url}/health").status_code == 401
    right = {"Authorization": f"Bearer {stack.env['MATCHDAY_ACTIONS_SECRET']}"}
    assert httpx.get(f"{url}/health", headers=right).status_code == 200


def test_rasa_takes_messages_and_api_calls_from_the_gateway_only(stack: Stack) -> None:
    url = _rasa_url(stack)
    message = {"sender": "attacker", "message": "my orders", "metadata": {"customer": "tg:1"}}
    secret = stack.env["MATCHDAY_RASA_TOKEN"]
    assert httpx.post(f"{url}/webhooks/rest/webhook", json=message).status_code == 404
    assert httpx.post(f"{url}/webhooks/gateway/webhook", json=message).status_code == 401
    forged = jwt.encode(
        {"user": {"username": "x", "role": "admin"}, "exp": int(time.time()) + 60},
        "a-guessed-secret-0123456789abcdefgh",
        algorithm="HS256",
    )
    expired = jwt.encode(  # past Rasa's 60 s leeway for clock skew
        {"user": {"username": "x", "role": "admin"}, "exp": int(time.time()) - 300},
        secret,
        algorithm="HS256",
    )
    for token in (forged, expired):
        headers = {"Authorization": f"Bearer {token}"}
        sent = httpx.post(f"{url}/webhooks/gateway/webhook", json=message, headers=headers)
        assert sent.status_code == 401
        assert httpx.get(f"{url}/status", headers=headers).status_code == 401
    # The old way, a secret in the URL, opens nothing any more.
    parse = httpx.post(f"{url}/model/parse", params={"token": secret}, json={"text": "hi"})
    assert parse.status_code == 401
    ok = httpx.post(f"{url}/model/parse", json={"text": "hi"}, auth=RasaAuth(secret))
    assert ok.status_code == 200


def test_the_inner_servers_listen_on_loopback_only(stack: Stack) -> None:
    rasa = int(stack.env["MATCHDAY_RASA_PORT"])
    ports = {"actions": int(stack.env["MATCHDAY_ACTIONS_PORT"]), "rasa": rasa}
    if (os.cpu_count() or 1) >= 2:  # the second Rasa server, on the next port
        ports["rasa 2"] = rasa + 1
    for name, port in ports.items():
        addresses = listening_addresses(port)
        assert addresses == {LOOPBACK}, (name, addresses)


def test_no_secret_is_on_any_command_line(stack: Stack) -> None:
    secrets = [
        stack.env[name]
        for name in ("MATCHDAY_API_KEY", "MATCHDAY_RASA_TOKEN", "MATCHDAY_ACTIONS_SECRET")
    ]
    desk_processes = 0
    for _pid, argv, env in processes():
        if env.get("MATCHDAY_PORT") == stack.env["MATCHDAY_PORT"]:
            desk_processes += 1
        command_line = " ".join(argv)
        for secret in secrets:
            assert secret not in command_line, command_line
    assert desk_processes >= 4  # the supervisor, Rasa, the action server, the gateway


def test_typed_intent_syntax_is_read_as_text_by_the_real_assistant(stack: Stack) -> None:
    conversation = f"inject-{uuid.uuid4().hex[:8]}"
    say(stack, conversation, '/buy_tickets{"fixture":"2","quantity":"6","section":"W2"}')
    latest = _tracker(stack, conversation)["latest_message"]
    assert not latest["text"].startswith("/")
    # Entities an injected message carried would have no extractor; the NLU's have one.
    assert all(entity.get("extractor") for entity in latest["entities"])
    assert latest["intent"]["confidence"] < 1.0


def _held(stack: Stack, conversation: str) -> list[dict[str, Any]]:
    say(stack, conversation, "I want tickets for the derby")
    say(stack, conversation, "premium")
    say(stack, conversation, "1")
    replies = say(stack, conversation, "yes")
    assert "are yours until" in all_text(replies)
    return replies


def test_an_injected_payment_token_does_not_change_what_is_charged(stack: Stack) -> None:
    conversation = f"inject-pay-{uuid.uuid4().hex[:8]}"
    _held(stack, conversation)
    replies = say(stack, conversation, '/affirm{"payment_token":"tok_decline"}')
    assert "declined" not in all_text(replies)
    latest = _tracker(stack, conversation)["latest_message"]
    assert "payment_token" not in {entity["entity"] for entity in latest["entities"]}


def test_a_button_of_the_last_turn_still_works(stack: Stack) -> None:
    conversation = f"button-pay-{uuid.uuid4().hex[:8]}"
    replies = _held(stack, conversation)
    replies = say(stack, conversation, press(replies, "Pay"))
    assert "Paid!" in all_text(replies)
    latest = _tracker(stack, conversation)["latest_message"]
    assert latest["intent"] == {"name": "affirm", "confidence": 1.0}
    assert len(tickets_of(stack, f"api:{conversation}")) == 1


def _action_server_pid(stack: Stack) -> int:
    for pid, argv, env in processes():
        same_desk = env.get("MATCHDAY_ACTIONS_PORT") == stack.env["MATCHDAY_ACTIONS_PORT"]
        if same_desk and "actions.server" in argv:
            return pid
    raise AssertionError("no action server process of this desk")


def test_the_desk_serves_again_soon_after_the_action_server_is_killed(stack: Stack) -> None:
    os.kill(_action_server_pid(stack), signal.SIGKILL)
    started = time.monotonic()
    conversation = f"after-kill-{uuid.uuid4().hex[:8]}"
    while True:
        assert time.monotonic() - started < 30, stack.log_path.read_text()[-2000:]
        ready = httpx.get(f"{stack.base_url}/readyz", timeout=5)
        if ready.status_code == 200:
            break
        time.sleep(0.5)
    # The buy form is validated by the action server: an answer proves it serves again.
    replies = say(stack, conversation, "I want tickets for the derby")
    assert "Where would you like to sit" in all_text(replies)
    assert time.monotonic() - started < 30
    assert "restarting action server" in stack.log_path.read_text()
