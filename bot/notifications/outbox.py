"""The outbox of proactive notices: enqueue once, claim, and record the outcome.

Exactly once: every notice has a unique `dedupe_key` (`order:RA-1234`,
`matchday:7:202612061935:tg:42`...), so enqueueing the same notice again does
nothing. A dispatcher claims due rows with a conditional UPDATE (two gateways
never claim the same row) and a lease: a row left in `sending` by a crash is sent
again after the lease (the only case where a fan may get a notice twice).
Failures are retried with exponential backoff, then recorded as `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.notifications.models import Notice
from core.clock import utcnow
from core.db import conflict_insert, database_kind, read_session, rowcount, table_of, write_session

Channel = Literal["telegram", "web", "api"]
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 6
ERROR_LIMIT = 2000


@dataclass(frozen=True)
class Recipient:
    """Where a fan's notices go: the channel they used and its conversation."""

    customer: str
    channel: Channel
    conversation_id: str


def recipient_for(customer: str) -> Recipient | None:
    """The channel behind a customer id (`tg:<user>`, `web:<conversation>`,
    `api:<conversation>`); None for fans no channel can reach (e.g. `email:`)."""
    kind, _, value = customer.partition(":")
    if not value:
        return None
    if kind == "tg" and value.isascii() and value.isdigit():  # "²".isdigit() holds too
        return Recipient(customer, "telegram", f"tg-{value}")  # a private chat's id is the user's
    if kind == "web":
        return Recipient(customer, "web", value)
    if kind == "api":
        return Recipient(customer, "api", value)
    return None


@dataclass(frozen=True)
class NoticeView:
    """A claimed notice, as senders see it."""

    id: int
    dedupe_key: str
    kind: str
    customer: str
    channel: str
    conversation_id: str
    payload: dict[str, Any]
    attempts: int


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    customer: str,
    payload: dict[str, Any],
    now: datetime | None = None,
) -> bool:
    """Queue a notice (due at `now`) in the caller's transaction; False if it was
    queued before or no channel reaches the fan."""
    recipient = recipient_for(customer)
    if recipient is None:
        return False
    now = now or utcnow()
    statement = (
        conflict_insert(database_kind(session), table_of(Notice))
        .values(
            dedupe_key=dedupe_key[:200],
            kind=kind,
            customer=customer,
            channel=recipient.channel,
            conversation_id=recipient.conversation_id,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table_of(Notice).c.id)
    )
    return session.execute(statement).scalar() is not None


def claim_due(
    sessions: sessionmaker[Session], *, now: datetime | None = None, limit: int = 50
) -> list[NoticeView]:
    """Take up to `limit` due notices (pending, or `sending` past their lease), oldest first."""
    now = now or utcnow()
    with read_session(sessions) as session:
        candidates = list(
            session.scalars(
                select(Notice.id)
                .where(
                    Notice.status.in_(("pending", "sending")),
                    Notice.next_attempt_at <= now,
                )
                .order_by(Notice.id)
                .limit(limit)
            )
        )
    claimed: list[NoticeView] = []
    for notice_id in candidates:
        with write_session(sessions) as session:
            taken = session.execute(
                update(Notice)
                .where(
                    Notice.id == notice_id,
                    Notice.status.in_(("pending", "sending")),
                    Notice.next_attempt_at <= now,
                )
                .values(status="sending", attempts=Notice.attempts + 1, next_attempt_at=now + LEASE)
            )
            if rowcount(taken) != 1:
                continue  # another dispatcher took it
            row = session.get(Notice, notice_id)
            assert row is not None
            claimed.append(
                NoticeView(
                    row.id,
                    row.dedupe_key,
                    row.kind,
                    row.customer,
                    row.channel,
                    row.conversation_id,
                    dict(row.payload),
                    row.attempts,
                )
            )
    return claimed


def _finish(sessions: sessionmaker[Session], notice_id: int, **values: Any) -> None:
    with write_session(sessions) as session:
        session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.status == "sending")
            .values(**values)
        )


def mark_sent(sessions: sessionmaker[Session], notice_id: int, now: datetime | None = None) -> None:
    """The notice reached the fan."""
    _finish(sessions, notice_id, status="sent", sent_at=now or utcnow(), last_error=None)


def mark_skipped(sessions: sessionmaker[Session], notice_id: int, reason: str) -> None:
    """Nothing to send after all (e.g. the tickets were already shown in the chat)."""
    _finish(sessions, notice_id, status="skipped", last_error=reason[:ERROR_LIMIT])


def mark_failed(
    sessions: sessionmaker[Session],
    notice: NoticeView,
    error: str,
    *,
    retry_base: timedelta,
    permanent: bool = False,
    now: datetime | None = None,
) -> str:
    """Record a failed attempt: retried after `retry_base * 2**(attempts-1)`, or
    `failed` for good after MAX_ATTEMPTS (or at once when `permanent`). Returns the status."""
    now = now or utcnow()
    if permanent or notice.attempts >= MAX_ATTEMPTS:
        _finish(sessions, notice.id, status="failed", last_error=error[:ERROR_LIMIT])
        return "failed"
    delay = retry_base * (2 ** (notice.attempts - 1))
    _finish(
        sessions,
        notice.id,
        status="pending",
        next_attempt_at=now + delay,
        last_error=error[:ERROR_LIMIT],
    )
    return "pending"


def counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Notices by status."""
    with read_session(sessions) as session:
        rows = session.execute(select(Notice.status, func.count()).group_by(Notice.status))
        return {status: int(n) for status, n in rows.tuples()}


def recent(
    sessions: sessionmaker[Session], limit: int = 50, failed_only: bool = False
) -> list[Notice]:
    """The newest notices (detached rows, for `desk notify list`)."""
    with read_session(sessions) as session:
        query = select(Notice).order_by(Notice.id.desc()).limit(limit)
        if failed_only:
            query = query.where(or_(Notice.status == "failed", Notice.last_error.is_not(None)))
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows
