"""`POST /api/v1/widget/sessions`, `GET /api/v1/widget/history`, the script and the demo
page, over real HTTP against an in-process gateway."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from bot.api.app import create_app
from bot.channels.webchat import tokens
from bot.channels.webchat.limits import RateLimit
from bot.channels.webchat.origins import BadOriginSetting
from bot.channels.webchat.sessions import SESSION_BURST
from bot.conversations.models import Conversation
from core.clock import utcnow
from core.db import read_session, write_session
from tests.bot.channels.webchat.conftest import (
    CLUB,
    MEDIA_SECRET,
    WidgetDesk,
    serving,
    widget_settings,
)
from tests.support.fake_rasa import FakeRasa
from ticketing.risk import refusal_counts


def test_an_allowed_page_gets_a_conversation_and_a_token(widget: WidgetDesk) -> None:
    response = widget.open_session()
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"web-[A-Za-z0-9_-]{22}", body["conversation_id"])
    assert body["token"].startswith(f"v1.{body['conversation_id']}.")
    assert body["resumed"] is False and body["status"] == "bot" and body["position"] is None
    assert response.headers["access-control-allow-origin"] == CLUB
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-credentials" not in response.headers
    other = widget.session()
    assert other["conversation_id"] != body["conversation_id"]


def test_the_preflight_answers_for_the_page(widget: WidgetDesk) -> None:
    response = httpx.options(
        f"{widget.base_url}/api/v1/widget/sessions",
        headers={
            "Origin": CLUB,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == CLUB
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Content-Type" in response.headers["access-control-allow-headers"]


@pytest.mark.parametrize(
    ("origin", "code"),
    [
        ("https://evil.example", "origin_not_allowed"),
        ("http://club.example", "origin_not_allowed"),
        ("null", "origin_not_allowed"),
        (None, "origin_required"),
    ],
)
def test_other_origins_are_refused_with_a_reason(
    widget: WidgetDesk, origin: str | None, code: str
) -> None:
    response = widget.open_session(origin=origin)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == code
    if origin and origin != "null":
        assert origin in error["message"] and "MATCHDAY_WIDGET_ORIGINS" in error["message"]


def test_the_gateways_own_pages_may_open_sessions(widget: WidgetDesk) -> None:
    assert widget.open_session(origin=widget.base_url).status_code == 201
    assert widget.open_session(origin="http://localhost:8080").status_code == 201


def test_a_token_resumes_its_conversation_and_bad_ones_are_named(widget: WidgetDesk) -> None:
    first = widget.session()
    again = widget.open_session(token=first["token"])
    assert again.status_code == 200
    assert again.json()["resumed"] is True
    assert again.json()["conversation_id"] == first["conversation_id"]
    forged = first["token"][:-3] + "abc"
    refused = widget.open_session(token=forged)
    assert refused.status_code == 401
    assert refused.json()["error"] == {
        "code": "invalid_token",
        "message": "The widget token is not valid here.",
        "field": "token",
    }
    assert refused.headers["access-control-allow-origin"] == CLUB  # readable by the page


def test_bad_bodies_get_clear_errors(widget: WidgetDesk) -> None:
    url = f"{widget.base_url}/api/v1/widget/sessions"
    headers = {"Origin": CLUB, "Content-Type": "application/json"}
    assert httpx.post(url, content=b"{nope", headers=headers).json()["error"]["code"] == (
        "invalid_json"
    )
    assert httpx.post(url, content=b"[]", headers=headers).status_code == 400
    unknown = httpx.post(url, json={"api_key": "x"}, headers=headers)
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "api_key"
    wrong = httpx.post(url, json={"token": 5}, headers=headers)
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "token"
    assert httpx.post(url, headers={"Origin": CLUB}).status_code == 201  # no body: new session


def test_sessions_are_rate_limited_per_client_ip(widget: WidgetDesk) -> None:
    gate = widget.app.state.widget
    # The default burst, refilled slowly enough that a busy test machine cannot refill it.
    gate.limit = RateLimit(SESSION_BURST, per_s=1 / 3600)
    answers = [widget.open_session().status_code for _ in range(SESSION_BURST + 1)]
    assert answers == [201] * SESSION_BURST + [429]
    limited = widget.open_session()
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) > 60
    assert limited.headers["access-control-allow-origin"] == CLUB
    # Another address is not held back by this one.
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
        response = other.post(
            f"{widget.base_url}/api/v1/widget/sessions", json={}, headers={"Origin": CLUB}
        )
    assert response.status_code == 201


def test_sessions_refused_by_rate_are_counted_per_minute(widget: WidgetDesk) -> None:
    widget.app.state.widget.limit = RateLimit(1, per_s=1 / 3600)
    answers = [widget.open_session().status_code for _ in range(3)]
    assert answers == [201, 429, 429]
    with read_session(widget.app.state.sessions) as session:
        assert refusal_counts(session, 0)["widget_sessions"] == 2


def test_a_session_lives_a_day_and_a_thirty_day_token_still_resumes(widget: WidgetDesk) -> None:
    opened = widget.session()
    assert opened["expires_at"] == pytest.approx(time.time() + tokens.DEFAULT_TTL_S, abs=60)
    # A token issued for 30 days (before they lived a week) works until it expires, and
    # resuming with it gives a week's token.
    cid = tokens.new_conversation_id()
    old = tokens.issue(MEDIA_SECRET, cid, ttl_s=tokens.LONGEST_TTL_S)
    resumed = widget.open_session(token=old.value)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["conversation_id"] == cid
    assert resumed.json()["expires_at"] < old.expires - 22 * 24 * 3600


def test_a_conversation_past_its_maximum_age_is_not_resumed(widget: WidgetDesk) -> None:
    session = widget.session()
    with widget.socket(session["token"]) as socket:
        socket.say("c-1", "hi")
    max_age = widget.app.state.widget.max_age_s
    with write_session(widget.app.state.sessions) as db:
        db.execute(
            update(Conversation)
            .where(Conversation.id == session["conversation_id"])
            .values(created_at=utcnow() - timedelta(seconds=max_age + 60))
        )
    resumed = widget.open_session(token=session["token"])
    assert resumed.status_code == 401
    assert resumed.json()["error"]["code"] == "session_too_old"


def test_history_needs_the_conversations_own_token(widget: WidgetDesk) -> None:
    mine, theirs = widget.session(), widget.session()
    with widget.socket(mine["token"]) as socket:
        socket.say("c-1", "hi")
    history = widget.history(mine["token"])
    assert history.status_code == 200
    body = history.json()
    assert body["conversation_id"] == mine["conversation_id"]
    assert [(m["sender"], m["text"]) for m in body["messages"]] == [
        ("fan", "hi"),
        ("bot", "Hi! I'm the ticket desk."),
    ]
    assert body["messages"][0]["client_message_id"] == "c-1"
    newer = widget.history(mine["token"], after=body["messages"][0]["id"]).json()["messages"]
    assert [m["sender"] for m in newer] == ["bot"]
    assert widget.history(theirs["token"]).json()["messages"] == []
    bare = httpx.get(f"{widget.base_url}/api/v1/widget/history")
    assert bare.status_code == 401 and bare.json()["error"]["code"] == "unauthorized"
    assert widget.history(mine["token"] + "x").status_code == 401
    evil = httpx.get(
        f"{widget.base_url}/api/v1/widget/history",
        headers={"Authorization": f"Bearer {mine['token']}", "Origin": "https://evil.example"},
    )
    assert evil.status_code == 403


def test_without_a_signing_secret_the_widget_says_so(sqlite_url: str, rasa: FakeRasa) -> None:
    with serving(widget_settings(sqlite_url, rasa, MATCHDAY_MEDIA_SECRET="")) as desk:
        response = desk.open_session()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "widget_not_configured"


def test_a_bad_origin_setting_stops_start_up(sqlite_url: str, rasa: FakeRasa) -> None:
    settings = widget_settings(sqlite_url, rasa, MATCHDAY_WIDGET_ORIGINS="https://ok.example,*")
    with pytest.raises(BadOriginSetting, match="MATCHDAY_WIDGET_ORIGINS"):
        create_app(settings)


def test_the_script_and_the_demo_page(widget: WidgetDesk) -> None:
    script = httpx.get(f"{widget.base_url}/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "attachShadow" in script.text and "/api/v1/widget/sessions" in script.text
    page = httpx.get(f"{widget.base_url}/")
    assert page.status_code == 200
    assert "Riverside Athletic" in page.text and '<script src="/widget.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{widget.base_url}/widget-demo.css").status_code == 200
    # The console and the API are where they were.
    assert httpx.get(f"{widget.base_url}/console/").status_code == 200
    assert httpx.get(f"{widget.base_url}/api/v1/conversations/x/messages").status_code == 401
