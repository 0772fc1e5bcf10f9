"""The widget's gate: its defaults and settings, a token's standing, the socket caps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.webchat import revocations, sessions, tokens
from bot.channels.webchat.origins import OriginPolicy
from bot.channels.webchat.sessions import WidgetRefused, WidgetSessions
from bot.conversations.models import Conversation
from core.clock import utcnow
from core.db import engine_for, make_sessionmaker, write_session
from core.settings import Settings
from tests.conftest import make_settings

SECRET = "a-media-secret"


@pytest.fixture
def db(sqlite_url: str) -> sessionmaker[Session]:
    return make_sessionmaker(engine_for(sqlite_url))


def gate(**options: int) -> WidgetSessions:
    return WidgetSessions(SECRET, OriginPolicy(frozenset()), **options)


def test_the_settings_defaults_are_the_gates_and_configure_it(sqlite_url: str) -> None:
    fields = Settings.model_fields
    assert fields["widget_sockets_per_conversation"].default == sessions.SOCKETS_PER_CONVERSATION
    assert fields["widget_sockets_per_address"].default == sessions.SOCKETS_PER_ADDRESS
    assert fields["widget_token_ttl_s"].default == tokens.DEFAULT_TTL_S
    assert fields["widget_session_max_age_s"].default == sessions.SESSION_MAX_AGE_S
    assert fields["widget_token_ttl_s"].metadata[-1].le == tokens.LONGEST_TTL_S
    configured = WidgetSessions.from_settings(
        make_settings(
            sqlite_url,
            MATCHDAY_WIDGET_SOCKETS_PER_CONVERSATION="2",
            MATCHDAY_WIDGET_SOCKETS_PER_ADDRESS="500",
            MATCHDAY_WIDGET_TOKEN_TTL="3600",
            MATCHDAY_WIDGET_SESSION_MAX_AGE="86400",
        )
    )
    assert configured.conversation_sockets.capacity == 2
    assert configured.address_sockets.capacity == 500
    assert (configured.ttl_s, configured.max_age_s) == (3600, 86400)


def test_a_token_longer_than_thirty_days_cannot_be_configured(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="MATCHDAY_WIDGET_TOKEN_TTL"):
        make_settings(sqlite_url, MATCHDAY_WIDGET_TOKEN_TTL=str(tokens.LONGEST_TTL_S + 1))


def test_a_fresh_conversation_is_in_good_standing_and_renewed(db: sessionmaker[Session]) -> None:
    widget = gate(ttl_s=600)
    grant = tokens.issue(SECRET, tokens.new_conversation_id(), ttl_s=60)
    widget.check_standing(db, grant)  # no row yet: nothing revoked, nothing too old
    renewed = widget.renew(db, grant)
    assert renewed.conversation_id == grant.conversation_id
    assert renewed.expires >= grant.expires + 500


def test_a_revoked_conversations_tokens_are_refused_and_not_renewed(
    db: sessionmaker[Session],
) -> None:
    widget = gate()
    grant = tokens.issue(SECRET, tokens.new_conversation_id())
    other = tokens.issue(SECRET, tokens.new_conversation_id())
    revocations.revoke(db, grant.conversation_id, "test", utcnow())
    for check in (widget.check_standing, widget.renew):
        with pytest.raises(WidgetRefused) as refused:
            check(db, grant)
        assert (refused.value.status, refused.value.code) == (401, "token_revoked")
    widget.check_standing(db, other)  # only that conversation


def test_a_conversation_past_its_maximum_age_is_not_renewed(db: sessionmaker[Session]) -> None:
    widget = gate(max_age_s=3600)
    grant = tokens.issue(SECRET, tokens.new_conversation_id())
    with write_session(db) as session:
        session.add(
            Conversation(
                id=grant.conversation_id, channel="web", created_at=utcnow() - timedelta(hours=2)
            )
        )
    with pytest.raises(WidgetRefused) as refused:
        widget.renew(db, grant)
    assert (refused.value.status, refused.value.code) == (401, "session_too_old")
    gate(max_age_s=3 * 3600).check_standing(db, grant)


def test_socket_slots_are_capped_and_given_back_whatever_happens() -> None:
    widget = gate(sockets_per_conversation=1, sockets_per_address=2)
    with widget.conversation_socket("web-a"):
        with pytest.raises(WidgetRefused) as refused, widget.conversation_socket("web-a"):
            pass
        assert (refused.value.status, refused.value.code) == (429, "too_many_tabs")
    with pytest.raises(RuntimeError), widget.conversation_socket("web-a"):
        raise RuntimeError("the socket broke")
    assert widget.conversation_sockets.held("web-a") == 0
    with widget.address_socket("203.0.113.5"), widget.address_socket("203.0.113.5"):
        with pytest.raises(WidgetRefused) as refused, widget.address_socket("203.0.113.5"):
            pass
        assert refused.value.code == "too_many_connections"
    assert widget.address_sockets.held("203.0.113.5") == 0
