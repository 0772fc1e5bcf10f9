"""Unauthenticated, wrong-role and cross-agent requests are refused on the console, the
agent API and its WebSocket; passwords are never stored or logged in clear."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import TEST_API_KEY
from tests.handoff.conftest import PASSWORD, Desk, bearer, new_id, ws_url

AGENT_ENDPOINTS = [
    ("GET", "/queue"),
    ("GET", "/conversations"),
    ("GET", "/conversations/x"),
    ("POST", "/conversations/x/claim"),
    ("POST", "/conversations/x/messages"),
    ("POST", "/conversations/x/handback"),
    ("POST", "/conversations/x/close"),
    ("GET", "/callbacks"),
    ("GET", "/agents"),
    ("GET", "/audit"),
    ("POST", "/knowledge"),
]


@pytest.mark.parametrize(("method", "path"), AGENT_ENDPOINTS)
def test_the_agent_api_needs_an_agent_session(desk: Desk, method: str, path: str) -> None:
    url = f"{desk.base_url}/api/v1/agent{path}"
    assert httpx.request(method, url, json={}).status_code == 401
    wrong = httpx.request(method, url, json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_session"
    server_key = httpx.request(
        method, url, json={}, headers={"Authorization": f"Bearer {TEST_API_KEY}"}
    )
    assert server_key.status_code == 403
    assert server_key.json()["error"]["code"] == "agent_session_required"


def test_roles_and_ownership(desk: Desk) -> None:
    alice, bob = desk.agent("alice"), desk.agent("bob", languages="en")
    fan, zh_fan = new_id(), new_id("zh")
    desk.fan(fan, "/human")
    desk.fan(zh_fan, "/人工")
    for path in ("/agents", "/audit"):
        assert alice.get(path).status_code == 403
    assert alice.post(f"/conversations/{fan}/assign", json={"username": "bob"}).status_code == 403
    assert alice.post(f"/conversations/{fan}/messages", json={"text": "x"}).status_code == 403

    assert zh_fan not in [c["id"] for c in bob.get("/queue").json()["conversations"]]
    assert bob.post(f"/conversations/{zh_fan}/claim").status_code == 403
    assert bob.get(f"/conversations/{zh_fan}").status_code == 403

    assert alice.post(f"/conversations/{fan}/claim").status_code == 200
    for response in (
        bob.get(f"/conversations/{fan}"),
        bob.post(f"/conversations/{fan}/messages", json={"text": "hijack"}),
        bob.post(f"/conversations/{fan}/notes", json={"text": "peek"}),
        bob.post(f"/conversations/{fan}/handback"),
        bob.post(f"/conversations/{fan}/close", json={"resolution": "other"}),
        bob.post(f"/conversations/{fan}/typing"),
    ):
        assert response.status_code == 403, response.text
    assert bob.post(f"/conversations/{fan}/claim").status_code == 409
    assert all(m["text"] != "hijack" for m in desk.history(fan)["messages"])


def test_cookie_sessions_need_the_csrf_token(desk: Desk) -> None:
    desk.add_agent("carol")
    fan = new_id()
    with httpx.Client(base_url=desk.base_url) as browser:
        signed_in = browser.post(
            "/api/v1/agent/session", json={"username": "carol", "password": PASSWORD}
        )
        assert desk.fan(fan, "/human")["status"] == "queued"
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        assert "samesite=strict" in signed_in.headers["set-cookie"].lower()
        assert browser.get("/api/v1/agent/queue").status_code == 200
        refused = browser.post(f"/api/v1/agent/conversations/{fan}/claim")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
        csrf = browser.get("/api/v1/agent/me").json()["csrf_token"]
        forged = browser.post(
            f"/api/v1/agent/conversations/{fan}/claim", headers={"X-CSRF-Token": "x" + csrf}
        )
        assert forged.status_code == 403
        ok = browser.post(
            f"/api/v1/agent/conversations/{fan}/claim", headers={"X-CSRF-Token": csrf}
        )
        assert ok.status_code == 200
        assert (
            browser.delete("/api/v1/agent/session", headers={"X-CSRF-Token": csrf}).status_code
            == 204
        )
        assert browser.get("/api/v1/agent/queue").status_code == 401


def test_console_pages(desk: Desk) -> None:
    assert httpx.get(f"{desk.base_url}/console/").status_code == 200
    assert httpx.get(f"{desk.base_url}/console/desk").status_code == 401
    assert httpx.get(f"{desk.base_url}/console/supervisor").status_code == 401
    assert httpx.get(f"{desk.base_url}/console/static/../desk.html").status_code == 404
    desk.add_agent("dave")
    desk.add_agent("sue", role="supervisor")
    with httpx.Client(base_url=desk.base_url) as browser:
        browser.post("/api/v1/agent/session", json={"username": "dave", "password": PASSWORD})
        desk_page = browser.get("/console/desk")
        assert desk_page.status_code == 200
        assert "frame-ancestors 'none'" in desk_page.headers["content-security-policy"]
        assert browser.get("/console/supervisor").status_code == 403
    with httpx.Client(base_url=desk.base_url) as browser:
        browser.post("/api/v1/agent/session", json={"username": "sue", "password": PASSWORD})
        assert browser.get("/console/supervisor").status_code == 200


def test_the_websocket_refuses_strangers_and_filters_other_agents_chats(desk: Desk) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Bearer {TEST_API_KEY}"},
    ):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(desk.base_url), additional_headers=headers)
        assert refused.value.response.status_code == 403
    erin = desk.agent("erin")
    desk.add_agent("frank")
    with httpx.Client(base_url=desk.base_url) as browser:
        browser.post("/api/v1/agent/session", json={"username": "frank", "password": PASSWORD})
        cookie = f"matchday_console={browser.cookies['matchday_console']}"
    with pytest.raises(InvalidStatus):  # cross-site WebSocket with the victim's cookie
        connect(
            ws_url(desk.base_url),
            additional_headers={"Cookie": cookie, "Origin": "https://evil.example"},
        )

    fan, later = new_id(), new_id("later")
    desk.fan(fan, "/human")
    erin.post(f"/conversations/{fan}/claim")
    with connect(ws_url(desk.base_url), additional_headers={"Cookie": cookie}) as frank_socket:
        assert json.loads(frank_socket.recv(10))["type"] == "hello"
        frank_socket.send(json.dumps({"type": "typing", "conversation_id": fan}))
        assert json.loads(frank_socket.recv(10))["code"] == "not_owner"
        desk.fan(fan, "secret: my card ends 4242")
        erin.post(f"/conversations/{fan}/messages", json={"text": "thanks"})
        desk.fan(later, "/human")  # an event frank may see, published after the private ones
        event = json.loads(frank_socket.recv(10))
        assert event["type"] == "queue" and event["conversation_id"] == later
    with connect(ws_url(desk.base_url), additional_headers=bearer(erin)) as erin_socket:
        assert json.loads(erin_socket.recv(10))["type"] == "hello"
        desk.fan(fan, "hello again")
        assert json.loads(erin_socket.recv(10))["message"]["text"] == "hello again"


def test_login_failures_are_limited(desk: Desk) -> None:
    desk.add_agent("gina")
    url = f"{desk.base_url}/api/v1/agent/session"
    for _ in range(5):
        wrong = httpx.post(url, json={"username": "gina", "password": "not the password"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    assert httpx.post(url, json={"username": "nobody", "password": "x"}).status_code == 401
    limited = httpx.post(url, json={"username": "gina", "password": PASSWORD})
    assert limited.status_code == 429 and limited.headers["retry-after"]


def test_passwords_are_never_stored_or_logged(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    desk.add_agent("hana")
    httpx.post(
        f"{desk.base_url}/api/v1/agent/session",
        json={"username": "hana", "password": "wrong " + PASSWORD},
    )
    token = desk.login("hana").headers["Authorization"].split()[1]
    database = Path(desk.database_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert PASSWORD.encode() not in stored
    assert token.encode() not in stored, "only the token's hash is stored"
    assert b"$argon2id$" in stored
    server_logs = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    assert any(r.name.startswith(("uvicorn", "matchday")) for r in caplog.records)
    assert PASSWORD not in server_logs
    assert token not in server_logs
