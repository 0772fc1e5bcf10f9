"""The outbox: each notice sent exactly once, failures retried with backoff and
recorded, duplicates refused by the dedupe key; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.conversations.models import Conversation, Message
from bot.handoff.events import EventBus
from bot.notifications.content import Rendered
from bot.notifications.dispatcher import NoticeDispatcher
from bot.notifications.models import Notice
from bot.notifications.outbox import MAX_ATTEMPTS, NoticeView, claim_due, enqueue, recipient_for
from bot.notifications.senders import PermanentFailure, WebSender
from bot.notifications.sources import enqueue_fixture_change, enqueue_matchday_now
from core.clock import utcnow
from core.db import write_session
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.models import Fixture
from ticketing.operations import cancel_fixture, postpone_fixture


@dataclass
class Recorder:
    """A channel that records what it was asked to send; fails on demand."""

    fail_times: int = 0
    permanent: bool = False
    sent: list[tuple[NoticeView, Rendered, str]] = field(default_factory=list)
    attempts: int = 0

    async def send(self, notice: NoticeView, rendered: Rendered, language: str) -> None:
        self.attempts += 1
        if self.permanent:
            raise PermanentFailure("chat 1 blocked the bot")
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ConnectionError("Bot API unreachable")
        self.sent.append((notice, rendered, language))


def dispatcher(club: Club, **senders: Recorder) -> NoticeDispatcher:
    return NoticeDispatcher(club.db, dict(senders), interval_s=1.0, order_grace_s=0)


def notices(club: Club) -> list[Notice]:
    with club.db() as session:
        return list(session.scalars(select(Notice).order_by(Notice.id)))


def test_recipients_follow_the_channel_the_fan_used() -> None:
    assert recipient_for("tg:42") is not None
    assert recipient_for("tg:42").conversation_id == "tg-42"  # type: ignore[union-attr]
    assert recipient_for("web:abc").channel == "web"  # type: ignore[union-attr]
    assert recipient_for("api:demo-1").conversation_id == "demo-1"  # type: ignore[union-attr]
    assert recipient_for("email:a@b.c") is None
    assert recipient_for("tg:not-a-number") is None
    assert recipient_for("tg:\u00b2") is None  # "²".isdigit(), but no chat id


def test_the_dedupe_key_refuses_a_second_notice(club: Club) -> None:
    with write_session(club.db) as session:
        assert enqueue(session, dedupe_key="k1", kind="postponed", customer="tg:1", payload={})
        assert not enqueue(session, dedupe_key="k1", kind="postponed", customer="tg:1", payload={})
        assert not enqueue(session, dedupe_key="k2", kind="x", customer="email:a@b.c", payload={})
    assert [n.dedupe_key for n in notices(club)] == ["k1"]


def test_an_order_confirmation_is_sent_exactly_once_with_its_tickets(club: Club) -> None:
    order = buy(club, "web:conv-1", 2)
    web = Recorder()
    loop = dispatcher(club, web=web)
    for _ in range(3):
        asyncio.run(loop.run_once())
    [(notice, rendered, language)] = web.sent
    assert notice.kind == "order_confirmation" and notice.conversation_id == "conv-1"
    assert order.ref in rendered.text and "2 ticket(s)" in rendered.text
    assert [t.ticket_id for t in rendered.tickets] == sorted(t.id for t in order.tickets) or len(
        rendered.tickets
    ) == 2
    assert rendered.tickets[0].caption.startswith("Ticket 1/2: seat ")
    assert language == "en"
    [row] = notices(club)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


def test_tickets_already_shown_in_the_chat_are_not_sent_again(club: Club) -> None:
    order = buy(club, "tg:7", 1)
    with write_session(club.db) as session:
        session.add(Conversation(id="tg-7", channel="telegram", language="zh"))
        session.flush()
        session.add(
            Message(conversation_id="tg-7", sender="bot", text=f"付款成功！订单 {order.ref}")
        )
    telegram = Recorder()
    asyncio.run(dispatcher(club, telegram=telegram).run_once())
    assert telegram.sent == []
    [row] = notices(club)
    assert row.status == "skipped" and row.last_error == "tickets already shown in the chat"


def test_a_failure_is_retried_with_backoff_then_sent(club: Club) -> None:
    buy(club, "tg:8", 1)
    t0 = utcnow()
    telegram = Recorder(fail_times=2)
    loop = dispatcher(club, telegram=telegram)
    report = asyncio.run(loop.run_once(now=t0))
    assert report.retrying == 1 and telegram.sent == []
    [row] = notices(club)
    assert row.status == "pending" and row.attempts == 1
    assert "Bot API unreachable" in (row.last_error or "")
    assert asyncio.run(loop.run_once(now=t0)).retrying == 0, "not before the backoff"
    asyncio.run(loop.run_once(now=t0 + timedelta(seconds=1.1)))  # base 1 s
    [row] = notices(club)
    assert row.attempts == 2 and row.status == "pending"
    asyncio.run(loop.run_once(now=t0 + timedelta(seconds=2)))  # 1 s, 2 s, ...
    assert telegram.sent == [], "second retry waits 2 s"
    asyncio.run(loop.run_once(now=t0 + timedelta(seconds=3.2)))
    assert len(telegram.sent) == 1
    [row] = notices(club)
    assert row.status == "sent" and row.attempts == 3 and row.last_error is None


def test_failures_are_recorded_after_the_last_attempt_or_at_once_when_permanent(
    club: Club,
) -> None:
    buy(club, "tg:9", 1)
    buy(club, "web:conv-9", 1)
    telegram, web = Recorder(permanent=True), Recorder(fail_times=100)
    loop = dispatcher(club, telegram=telegram, web=web)
    for minute in range(0, 200, 2):
        asyncio.run(loop.run_once(now=utcnow() + timedelta(minutes=minute)))
    by_channel = {n.channel: n for n in notices(club)}
    assert by_channel["telegram"].status == "failed" and telegram.attempts == 1
    assert "blocked" in (by_channel["telegram"].last_error or "")
    assert by_channel["web"].status == "failed" and web.attempts == MAX_ATTEMPTS


def test_a_notice_for_a_channel_that_is_not_running_waits(club: Club) -> None:
    buy(club, "tg:10", 1)
    asyncio.run(dispatcher(club).run_once())
    [row] = notices(club)
    assert row.status == "pending" and "not running" in (row.last_error or "")


def test_a_claimed_notice_is_not_claimed_twice(club: Club) -> None:
    with write_session(club.db) as session:
        enqueue(session, dedupe_key="once", kind="postponed", customer="tg:1", payload={})
    assert len(claim_due(club.db, now=utcnow() + timedelta(seconds=1))) == 1
    assert claim_due(club.db, now=utcnow() + timedelta(seconds=1)) == []
    # A dispatcher that crashed mid-send: the lease runs out and the row is sent again.
    assert len(claim_due(club.db, now=utcnow() + timedelta(minutes=6))) == 1


def test_postponement_and_cancellation_notices(club: Club) -> None:
    buy(club, "tg:11", 2)
    buy(club, "web:conv-12", 1)
    with write_session(club.db) as session:
        session.add(Conversation(id="conv-12", channel="web", language="zh"))
    change = postpone_fixture(club.db, club.fixture, club.now + timedelta(days=20))
    assert enqueue_fixture_change(club.db, change) == 2
    assert enqueue_fixture_change(club.db, change) == 0, "running the operation twice: once"
    cancelled = cancel_fixture(club.db, club.fixtures[0], provider=club.provider, keys=club.keys)
    assert enqueue_fixture_change(club.db, cancelled) == 2
    telegram, web = Recorder(), Recorder()
    loop = dispatcher(club, telegram=telegram, web=web)
    asyncio.run(loop.run_once())
    texts = {(n.kind, n.channel): r.text for n, r, _ in [*telegram.sent, *web.sent]}
    assert "has been moved to" in texts[("postponed", "telegram")]
    assert "2 ticket(s) stay valid" in texts[("postponed", "telegram")]
    assert "改期到" in texts[("postponed", "web")]
    assert "cancelled" in texts[("cancelled", "telegram")]
    assert "全额退款" in texts[("cancelled", "web")]
    by_kind = sorted((n.kind, n.status) for n in notices(club))
    assert by_kind == [
        ("cancelled", "sent"),
        ("cancelled", "sent"),
        ("order_confirmation", "skipped"),  # refunded before it went out: nothing to confirm
        ("order_confirmation", "skipped"),
        ("postponed", "sent"),
        ("postponed", "sent"),
    ]


def test_the_matchday_pack_goes_out_the_day_before(club: Club) -> None:
    buy(club, "tg:13", 2, section="A")
    with club.db() as session:
        kickoff = session.get(Fixture, club.fixture).kickoff  # type: ignore[union-attr]
    telegram = Recorder()
    loop = dispatcher(club, telegram=telegram)
    asyncio.run(loop.run_once(now=kickoff - timedelta(hours=30)))
    assert [n.kind for n, _, _ in telegram.sent if n.kind == "matchday"] == [], "too early"
    asyncio.run(loop.run_once(now=kickoff - timedelta(hours=23)))
    asyncio.run(loop.run_once(now=kickoff - timedelta(hours=22)))
    packs = [r for n, r, _ in telegram.sent if n.kind == "matchday"]
    assert len(packs) == 1
    text = packs[0].text
    assert text.startswith("Match day tomorrow: Home Town v Away City")
    assert "Your seats: A-" in text and "Gates open at" in text and "Metro Line 3" in text
    assert packs[0].tickets == []
    assert enqueue_matchday_now(club.db, club.fixture) == 0, "already queued for this kick-off"
    assert enqueue_matchday_now(club.db, 999_999) is None


def test_the_web_sender_stores_the_notice_and_publishes_it(club: Club) -> None:
    order = buy(club, "web:conv-20", 1)
    bus = EventBus()
    sender = WebSender(club.db, bus, "media-secret", "https://desk.example.org")

    async def scenario() -> list[dict[str, object]]:
        with bus.subscribe() as subscription:
            await NoticeDispatcher(club.db, {"web": sender}, order_grace_s=0).run_once()
            events = [await asyncio.wait_for(subscription.next(), 5) for _ in range(2)]
        return [dict(e.data["message"]) for e in events if e.conversation_id == "conv-20"]

    messages = asyncio.run(scenario())
    assert order.ref in str(messages[0]["text"]) and messages[0]["sender"] == "system"
    image = str(messages[1]["image"])
    assert image.startswith("https://desk.example.org/media/tickets/") and "sig=" in image
    with club.db() as session:
        stored = session.scalars(
            select(Message.text).where(Message.conversation_id == "conv-20")
        ).all()
    assert len(stored) == 2


@pytest.mark.parametrize("kind", ["unknown-kind"])
def test_a_notice_with_nothing_to_say_is_skipped(club: Club, kind: str) -> None:
    with write_session(club.db) as session:
        enqueue(
            session,
            dedupe_key="odd",
            kind=kind,
            customer="tg:1",
            payload={"fixture_id": club.fixture},
        )
    asyncio.run(dispatcher(club, telegram=Recorder()).run_once())
    [row] = notices(club)
    assert row.status == "skipped" and "unknown notice kind" in (row.last_error or "")
