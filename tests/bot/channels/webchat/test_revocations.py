"""Revoked widget conversations: refused on resume, history and hello, and closed live by
`desk widget revoke` from another process's point of view (the database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed

from bot.channels.webchat import revocations, tokens
from bot.channels.webchat import socket as widget_socket
from bot.channels.webchat.models import WidgetRevocation
from bot.cli import app as desk
from core.clock import utcnow
from core.db import engine_for, make_sessionmaker, read_session
from core.settings import get_settings
from tests.bot.channels.webchat.conftest import WidgetDesk

runner = CliRunner()
T = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)


def test_a_revocation_covers_every_token_that_may_have_been_issued_before_it() -> None:
    at = T.timestamp()
    # A day's token issued just before T, and a 30-day one issued 29 days before T.
    assert revocations.covers(T, int(at - 1 + tokens.DEFAULT_TTL_S))
    assert revocations.covers(T, int(at + 24 * 3600))
    # Expiring later than any token issued by T could: issued after it.
    latest = at + tokens.LONGEST_TTL_S + revocations.MARGIN_S
    assert not revocations.covers(T, int(latest + 1))


def test_revoking_again_moves_the_time_and_names_who_did(sqlite_url: str) -> None:
    db: sessionmaker[Session] = make_sessionmaker(engine_for(sqlite_url))
    cid = tokens.new_conversation_id()
    revocations.revoke(db, cid, "cli:ops", T)
    revocations.revoke(db, cid, "cli:mei", T + timedelta(hours=1))
    assert revocations.revoked_among(db, [cid, tokens.new_conversation_id()]) == {
        cid: T + timedelta(hours=1)
    }
    with read_session(db) as session:
        row = session.get(WidgetRevocation, cid)
        assert row is not None and row.revoked_by == "cli:mei"
    with pytest.raises(revocations.NotAWidgetConversation):
        revocations.revoke(db, "tg-12345", None, T)


def test_a_revoked_token_is_refused_on_resume_history_and_hello(widget: WidgetDesk) -> None:
    session = widget.session()
    with widget.socket(session["token"]) as socket:
        socket.say("c-1", "hi")
    revocations.revoke(widget.app.state.sessions, session["conversation_id"], "test", utcnow())

    resumed = widget.open_session(token=session["token"])
    assert resumed.status_code == 401, resumed.text
    assert resumed.json()["error"]["code"] == "token_revoked"
    history = widget.history(session["token"])
    assert history.status_code == 401 and history.json()["error"]["code"] == "token_revoked"
    socket = widget.connect()
    socket.send({"type": "hello", "token": session["token"]})
    assert socket.receive()["code"] == "token_revoked"
    with pytest.raises(ConnectionClosed) as closed:
        socket.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    # The widget then starts afresh: a new conversation, not the revoked one.
    fresh = widget.session()
    assert fresh["conversation_id"] != session["conversation_id"]
    assert widget.history(fresh["token"]).status_code == 200


def test_desk_widget_revoke_closes_the_conversations_open_sockets(
    widget: WidgetDesk, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(widget_socket, "SWEEP_EVERY_S", 0.1)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    session, other = widget.session(), widget.session()
    first, second = widget.socket(session["token"]), widget.socket(session["token"])
    with first, second, widget.socket(other["token"]) as bystander:
        result = runner.invoke(desk, ["widget", "revoke", session["conversation_id"]])
        assert result.exit_code == 0, result.output
        assert f"revoked {session['conversation_id']}" in result.output
        for socket in (first, second):
            error, _ = socket.until("error")
            assert error["code"] == "token_revoked"
            with pytest.raises(ConnectionClosed) as closed:
                socket.receive()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert bystander.say("c-1", "hi")[-1]["type"] == "ack"  # another conversation
    assert widget.open_session(token=session["token"]).status_code == 401


def test_desk_widget_revoke_names_an_id_that_is_no_widget_conversation(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    result = runner.invoke(desk, ["widget", "revoke", "tg-12345"])
    assert result.exit_code == 2
    assert "not a widget conversation" in result.output
