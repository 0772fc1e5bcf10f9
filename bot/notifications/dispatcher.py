"""The gateway's notice loop: find what is due, then send pending outbox rows.

Each round (every `interval_s`) queues new order confirmations and due match-day
packs, claims due notices, renders each in the fan's language and hands it to the
channel's sender. Success is `sent`; an error is retried with backoff and, after
the last attempt (or a permanent one such as a blocked bot), recorded `failed`.

Order confirmations and the chat: a fan who bought in the chat already has the QR
tickets there (the assistant sends them with the payment reply). So a confirmation
whose order reference appears in a bot reply of the fan's conversation is
`skipped`, and only orders made elsewhere (the REST API, a box office) are
confirmed with their QR tickets on the fan's channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.models import Conversation, Message
from bot.notifications.content import (
    NoticeNotApplicable,
    Notices,
    Rendered,
    default_notices,
    render,
)
from bot.notifications.outbox import NoticeView, claim_due, mark_failed, mark_sent, mark_skipped
from bot.notifications.senders import NoticeSender, PermanentFailure
from bot.notifications.sources import enqueue_due_matchday_packs, enqueue_order_confirmations
from core.clock import utcnow
from core.db import read_session
from knowledge.language import Language

log = logging.getLogger("matchday.notifications")


class _Skip(Exception):
    """Nothing to send (the reason is the message)."""


@dataclass
class RoundReport:
    """What one round did."""

    queued: int = 0
    sent: int = 0
    skipped: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class NoticeDispatcher:
    """Sends the outbox, channel by channel."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: dict[str, NoticeSender],
        *,
        interval_s: float = 10.0,
        order_grace_s: float = 60.0,
        notices: Notices | None = None,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.interval_s = interval_s
        self.order_grace = timedelta(seconds=order_grace_s)
        self.notices = notices or default_notices()
        self.retry_base = timedelta(seconds=max(interval_s, 1.0))
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run rounds in the background until `stop`."""
        self._task = asyncio.create_task(self._loop(), name="notice-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                report = await self.run_once()
                if report.sent or report.failed or report.retrying:
                    log.info("notices: %s", report)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away for a moment: try next round
                log.exception("notice round failed")
            await asyncio.sleep(self.interval_s)

    async def run_once(self, now: datetime | None = None) -> RoundReport:
        """One round: queue what became due, send what is pending."""
        now = now or utcnow()
        report = RoundReport()
        report.queued += await to_thread.run_sync(
            lambda: enqueue_order_confirmations(self.sessions, grace=self.order_grace, now=now)
        )
        report.queued += await to_thread.run_sync(
            lambda: enqueue_due_matchday_packs(self.sessions, self.notices.matchday, now=now)
        )
        for notice in await to_thread.run_sync(lambda: claim_due(self.sessions, now=now)):
            await self._send(notice, report, now)
        return report

    async def _send(self, notice: NoticeView, report: RoundReport, now: datetime) -> None:
        try:
            language, rendered = await to_thread.run_sync(self._prepare, notice)
        except (_Skip, NoticeNotApplicable) as exc:
            await to_thread.run_sync(mark_skipped, self.sessions, notice.id, str(exc))
            report.skipped += 1
            return
        sender = self.senders.get(notice.channel)
        error: str | None = None
        permanent = False
        if sender is None:
            error = f"the {notice.channel} channel is not running"
        else:
            try:
                await sender.send(notice, rendered, language)
            except PermanentFailure as exc:
                error, permanent = str(exc) or type(exc).__name__, True
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        if error is None:
            await to_thread.run_sync(mark_sent, self.sessions, notice.id, now)
            report.sent += 1
            return
        status = await to_thread.run_sync(
            lambda: mark_failed(
                self.sessions,
                notice,
                error,
                retry_base=self.retry_base,
                permanent=permanent,
                now=now,
            )
        )
        log.warning("notice %s (%s) not sent: %s -> %s", notice.id, notice.kind, error, status)
        report.errors.append(error)
        if status == "failed":
            report.failed += 1
        else:
            report.retrying += 1

    def _prepare(self, notice: NoticeView) -> tuple[Language, Rendered]:
        with read_session(self.sessions) as session:
            conversation = session.get(Conversation, notice.conversation_id)
            language: Language = (
                "zh" if conversation is not None and conversation.language == "zh" else "en"
            )
            if notice.kind == "order_confirmation":
                ref = str(notice.payload["order_ref"])
                shown = session.scalar(
                    select(Message.id)
                    .where(
                        Message.conversation_id == notice.conversation_id,
                        Message.sender == "bot",
                        Message.text.contains(ref, autoescape=True),
                    )
                    .limit(1)
                )
                if shown is not None:
                    raise _Skip("tickets already shown in the chat")
            rendered = render(
                session, self.notices, notice.kind, notice.customer, notice.payload, language
            )
        return language, rendered
