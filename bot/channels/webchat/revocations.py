"""Revoked widget conversations (`desk widget revoke`): the one table behind a stateless token.

A revocation at T refuses every token of the conversation issued before T. A v1 token
carries its expiry, not when it was issued, and the lifetime may have been another
setting then, so the desk compares conservatively: a token was possibly issued before T
when it expires before T + `tokens.LONGEST_TTL_S` (no token ever lives longer) +
`MARGIN_S` (clocks of other machines, a renewal under way while the row was written).
Nothing mints a token for a conversation without a valid token of it, so in practice a
revoked conversation stays closed, and its widget starts a fresh one.

It is read where tokens are checked against the database anyway: a resume, the history,
a socket's hello and its renewals, and by each gateway's sweep of its open sockets (one
query every `socket.SWEEP_EVERY_S` for the conversations with a socket open); never per
frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.webchat import tokens
from bot.channels.webchat.models import WidgetRevocation
from core.db import read_session, write_session

MARGIN_S = 300
CHUNK = 500  # conversation ids per query of a sweep


class NotAWidgetConversation(ValueError):
    """An id that no widget token can name (so there is nothing to revoke)."""


def revoke(db: sessionmaker[Session], conversation_id: str, by: str | None, now: datetime) -> None:
    """Refuse every token of `conversation_id` issued before `now` (again: a later time)."""
    if not tokens.is_conversation_id(conversation_id):
        raise NotAWidgetConversation(f"not a widget conversation id: {conversation_id!r}")
    by = by[:64] if by else None
    with write_session(db) as session:
        row = session.get(WidgetRevocation, conversation_id)
        if row is None:
            session.add(
                WidgetRevocation(conversation_id=conversation_id, revoked_at=now, revoked_by=by)
            )
        else:
            row.revoked_at, row.revoked_by = now, by


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # SQLite


def revoked_at(session: Session, conversation_id: str) -> datetime | None:
    """When the conversation's tokens were revoked, if they were."""
    row = session.get(WidgetRevocation, conversation_id)
    return _aware(row.revoked_at) if row is not None else None


def revoked_among(
    db: sessionmaker[Session], conversation_ids: Iterable[str]
) -> dict[str, datetime]:
    """The revocation times of those of `conversation_ids` that were revoked."""
    ids = sorted(set(conversation_ids))
    found: dict[str, datetime] = {}
    with read_session(db) as session:
        for start in range(0, len(ids), CHUNK):
            rows = session.execute(
                select(WidgetRevocation.conversation_id, WidgetRevocation.revoked_at).where(
                    WidgetRevocation.conversation_id.in_(ids[start : start + CHUNK])
                )
            )
            found.update((cid, _aware(at)) for cid, at in rows.tuples())
    return found


def covers(revoked: datetime, expires: int) -> bool:
    """Whether a revocation at `revoked` refuses a token expiring at `expires` (unix s)."""
    latest = revoked + timedelta(seconds=tokens.LONGEST_TTL_S + MARGIN_S)
    return expires < latest.timestamp()
