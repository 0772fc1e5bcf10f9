"""The audit log: every agent action (login, claim, reply, hand back, close, knowledge
edits ...) is one row, written in the same transaction as the action itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.handoff.models import AuditEntry

# Never written into an audit row, whatever a caller passes.
_SECRET_KEYS = frozenset({"password", "token", "csrf_token", "password_hash"})


def record(
    session: Session,
    action: str,
    *,
    username: str,
    agent_id: int | None = None,
    conversation_id: str | None = None,
    ip: str | None = None,
    **detail: Any,
) -> None:
    """Add an audit row to `session` (committed with the caller's transaction)."""
    clean = {key: value for key, value in detail.items() if key not in _SECRET_KEYS}
    session.add(
        AuditEntry(
            agent_id=agent_id,
            username=username[:64],
            action=action,
            conversation_id=conversation_id,
            detail=clean,
            ip=ip,
        )
    )


def recent(
    session: Session, *, limit: int = 100, conversation_id: str | None = None
) -> list[AuditEntry]:
    """The newest audit rows first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if conversation_id is not None:
        query = query.where(AuditEntry.conversation_id == conversation_id)
    return list(session.scalars(query))
