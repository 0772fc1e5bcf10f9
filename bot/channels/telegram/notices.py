"""Proactive notices to Telegram chats (the outbox's Telegram sender).

The notice goes to the chat through the channel's ordered delivery (flood waits,
blocked fans), then is stored in the conversation so agents see it. A fan who
blocked the bot fails the notice for good: it is not retried.
"""

from __future__ import annotations

from anyio import to_thread

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.chats import chat_of
from bot.channels.telegram.delivery import Blocked, Outgoing
from bot.channels.telegram.photos import ticket_png
from bot.notifications.content import Rendered
from bot.notifications.outbox import NoticeView
from bot.notifications.senders import PermanentFailure, store_notice
from core.media import signed_path, ticket_qr_path


class TelegramNoticeSender:
    """Sends a rendered notice to the fan's chat."""

    def __init__(self, channel: TelegramChannel, gateway_url: str) -> None:
        self._channel = channel
        self._gateway = gateway_url.rstrip("/")

    async def send(self, notice: NoticeView, rendered: Rendered, language: str) -> None:
        chat_id = chat_of(notice.conversation_id)
        if chat_id is None:
            raise PermanentFailure(f"not a Telegram conversation: {notice.conversation_id}")
        channel = self._channel
        items = [Outgoing(rendered.text)]
        links: list[tuple[str, str | None]] = [(rendered.text, None)]
        for ticket in rendered.tickets:
            png = await to_thread.run_sync(
                ticket_png, channel.sessions, ticket.ticket_id, ticket.version
            )
            if png is None:
                continue  # replaced since: the new code has its own notice
            items.append(Outgoing(ticket.caption, photo=png))
            link = self._gateway + signed_path(
                channel.media_secret, ticket_qr_path(ticket.ticket_id, ticket.version)
            )
            links.append((ticket.caption, link))
        try:
            await channel.delivery.send(chat_id, items)
        except Blocked as exc:
            raise PermanentFailure(str(exc)) from exc
        await to_thread.run_sync(
            store_notice, channel.sessions, notice.conversation_id, "telegram", links
        )
