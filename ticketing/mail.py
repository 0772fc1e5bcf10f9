"""The mail outbox: messages the desk sends to fans' e-mail addresses.

In development (and in the demo) nothing leaves the machine: every message is
written to the `mail_outbox` table, and `desk mail` shows it. A deployment that
sends real mail replaces `deliver` with its own `Mailer`, or has a worker relay
the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Index, String, Text, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base
from core.texts import catalogue


class OutboxMail(Base):
    """One message as sent (to the local outbox)."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_mail_outbox_to_created", "to_address", "created_at"),)


@dataclass(frozen=True)
class MailMessage:
    """A message to send."""

    to_address: str
    subject: str
    body: str


def bilingual_mail(
    to_address: str,
    *,
    subject_key: str,
    body_key: str,
    values: Callable[[str], Mapping[str, object]],
) -> MailMessage:
    """A message in English then Chinese (the desk doesn't know which one the fan reads):
    the two texts of each key from the catalogue, filled with `values(language)`."""
    texts = catalogue()
    subject, body = [], []
    for language in ("en", "zh"):
        filled = values(language)
        subject.append(texts.text(subject_key, language, **filled))
        body.append(texts.text(body_key, language, **filled))
    return MailMessage(to_address, " / ".join(subject), "\n\n".join(body) + "\n")


@dataclass(frozen=True)
class SentMail:
    """A message in the outbox."""

    id: int
    to_address: str
    subject: str
    body: str
    created_at: datetime


# Sends a message inside the caller's write transaction (so a rolled-back change sends nothing).
Mailer = Callable[[Session, MailMessage, datetime], None]


def deliver(session: Session, message: MailMessage, now: datetime) -> None:
    """The development mailer: store the message in the outbox."""
    session.execute(
        insert(OutboxMail).values(
            to_address=message.to_address.strip().lower(),
            subject=message.subject,
            body=message.body,
            created_at=now,
        )
    )


def outbox(session: Session, *, to_address: str | None = None, limit: int = 20) -> list[SentMail]:
    """The newest messages in the outbox (to one address, when given), newest first."""
    query = select(OutboxMail)
    if to_address is not None:
        query = query.where(OutboxMail.to_address == to_address.strip().lower())
    rows = session.scalars(query.order_by(OutboxMail.id.desc()).limit(limit)).all()
    return [
        SentMail(
            id=row.id,
            to_address=row.to_address,
            subject=row.subject,
            body=row.body,
            created_at=row.created_at,
        )
        for row in rows
    ]
