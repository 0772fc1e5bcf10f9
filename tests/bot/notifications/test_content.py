"""What notices say about a ticket passed on: the seller's confirmation carries only the
seller's tickets, and the recipient's own order is confirmed to them as a received ticket."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.notifications.content import Rendered
from bot.notifications.dispatcher import NoticeDispatcher
from bot.notifications.outbox import NoticeView
from core.db import read_session
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.orders import orders_of
from ticketing.transfers import transfer_ticket


@dataclass
class Recorder:
    """A channel that records what it was asked to send."""

    sent: list[tuple[NoticeView, Rendered, str]] = field(default_factory=list)

    async def send(self, notice: NoticeView, rendered: Rendered, language: str) -> None:
        self.sent.append((notice, rendered, language))


def test_a_ticket_passed_on_is_confirmed_to_its_new_holder_and_not_to_the_seller(
    club: Club,
) -> None:
    order = buy(club, "web:seller-conv", 2)
    kept, given = order.tickets
    done = transfer_ticket(club.db, "web:seller-conv", given.id, "tg:4242", keys=club.keys)
    web, telegram = Recorder(), Recorder()
    dispatcher = NoticeDispatcher(
        club.db, {"web": web, "telegram": telegram}, interval_s=1.0, order_grace_s=0
    )
    asyncio.run(dispatcher.run_once())

    [(_notice, seller, _language)] = web.sent
    assert order.ref in seller.text and "1 ticket(s)" in seller.text
    assert [image.ticket_id for image in seller.tickets] == [kept.id]
    assert done.ticket.code not in seller.text

    with read_session(club.db) as session:
        (theirs,) = orders_of(session, "tg:4242")
    [(notice, received, _language)] = telegram.sent
    assert notice.conversation_id == "tg-4242" and notice.kind == "order_confirmation"
    assert received.text.startswith("Another fan has passed you 1 ticket(s)")
    assert theirs.ref in received.text and order.ref not in received.text
    assert [(image.ticket_id, image.version) for image in received.tickets] == [
        (done.ticket.id, done.ticket.version)
    ]
