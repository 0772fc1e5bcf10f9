"""What the gateway runs beside the API for the channels: the Telegram bot (when
TELEGRAM_BOT_TOKEN is set) and the proactive notice dispatcher (always).

`bot/api/app.py` calls `start` and `stop` from its lifespan; the Telegram settings
are validated earlier, in `create_app`, so a wrong combination stops start-up.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.config import TelegramConfig
from bot.channels.telegram.notices import TelegramNoticeSender
from bot.notifications.dispatcher import NoticeDispatcher
from bot.notifications.senders import NoticeSender, WebSender
from core.settings import Settings

log = logging.getLogger("matchday.channels")


async def start(app: FastAPI) -> None:
    """Start the Telegram channel (if configured) and the notice dispatcher."""
    settings: Settings = app.state.settings
    config: TelegramConfig | None = app.state.telegram_config
    bus = app.state.handoff.bus
    web = WebSender(app.state.sessions, bus, settings.media_secret, settings.gateway_url)
    senders: dict[str, NoticeSender] = {"web": web, "api": web}
    app.state.telegram = None
    if config is not None:
        channel = TelegramChannel(
            config,
            app.state.sessions,
            lambda: app.state.conversations,
            bus,
            settings.media_secret,
            rasa=app.state.rasa,
        )
        await channel.start()
        app.state.telegram = channel
        senders["telegram"] = TelegramNoticeSender(channel, settings.gateway_url)
        log.info("Telegram channel started (%s)", config.mode)
    dispatcher = NoticeDispatcher(
        app.state.sessions,
        senders,
        interval_s=settings.outbox_interval_s,
        order_grace_s=settings.outbox_order_grace_s,
    )
    dispatcher.start()
    app.state.notices = dispatcher


async def stop(app: FastAPI) -> None:
    """Stop the dispatcher, then the bot."""
    dispatcher: NoticeDispatcher | None = getattr(app.state, "notices", None)
    if dispatcher is not None:
        await dispatcher.stop()
    channel: TelegramChannel | None = getattr(app.state, "telegram", None)
    if channel is not None:
        await channel.stop()
