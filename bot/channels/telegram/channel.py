"""The Telegram channel: one aiogram bot inside the gateway process.

`TelegramChannel` owns the bot, the dispatcher (the routers of `handlers/`), the
ordered delivery to chats and the push of out-of-turn messages (agents' replies,
system messages) from the handoff desk's event bus. Every fan message goes through
the one `ConversationService.handle_fan_message` with channel `telegram`,
conversation `tg-<chat id>` and customer `tg:<user id>`. In a group chat each member
has their own conversation, `tg-<group id>-u<user id>`, the desk answers general
questions only and takes the rest to a private chat (groups.py).

Polling (default) runs `getUpdates` in a background task; webhook mode registers
TELEGRAM_WEBHOOK_URL with `setWebhook` and the gateway's `/telegram/webhook` route
feeds the updates in (bot/channels/telegram/webhook.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import weakref
from collections.abc import Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Update, User
from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram.chats import ChatStore, chat_of, conversation_id, language_of
from bot.channels.telegram.config import TelegramConfig
from bot.channels.telegram.delivery import Blocked, ChatDelivery, DeliveryFailed, Outgoing
from bot.channels.telegram.groups import (
    GroupRules,
    is_group,
    is_group_chat,
    private_keyboard,
    private_link,
)
from bot.channels.telegram.handlers import build_dispatcher
from bot.channels.telegram.keyboards import CallbackStore
from bot.channels.telegram.photos import png_for_link
from bot.conversations.service import Busy, Button, ConversationService, Reply
from bot.handoff.events import Event, EventBus
from bot.rasa.client import RasaClient, RasaUnavailable
from core.texts import Catalogue, catalogue
from knowledge.language import Language
from ticketing.club import club_names

log = logging.getLogger("matchday.telegram")

POLLING_TIMEOUT_S = 25
RESTART_BACKOFF_S = (1, 2, 5, 10, 30)


def captioned(replies: list[Reply]) -> list[Reply]:
    """Rasa's REST channel sends a response with text and image as two messages (the
    text, then the image alone); on Telegram they belong together as a captioned photo."""
    merged: list[Reply] = []
    for reply in replies:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and reply.image
            and not reply.text
            and not previous.image
            and not previous.buttons
            and previous.text
        ):
            merged[-1] = Reply(previous.sender, previous.text, reply.buttons, reply.image)
        else:
            merged.append(reply)
    return merged


class TelegramChannel:
    """The bot, its routers, and delivery to chats."""

    def __init__(
        self,
        config: TelegramConfig,
        sessions: sessionmaker[Session],
        conversations: Callable[[], ConversationService],
        bus: EventBus,
        media_secret: str,
        texts: Catalogue | None = None,
        *,
        rasa: RasaClient,
    ) -> None:
        """`rasa`: the assistant, whose NLU draws the line in group chats (groups.py)."""
        self.config = config
        self.sessions = sessions
        self._conversations = conversations
        self.bus = bus
        self.media_secret = media_secret
        self.texts = texts or catalogue()
        api = TelegramAPIServer.from_base(config.api_server) if config.api_server else None
        session = AiohttpSession(api=api) if api is not None else AiohttpSession()
        self.bot = Bot(config.token, session=session)
        self.chats = ChatStore(sessions)
        self.callbacks = CallbackStore(sessions)
        self.groups = GroupRules(sessions, rasa.parse)
        self.delivery = ChatDelivery(self.bot, self.chats, private_text=self.groups.private_text)
        self.dispatcher: Dispatcher = build_dispatcher()
        self.dispatcher["channel"] = self
        self._tasks: set[asyncio.Task[Any]] = set()
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._polling: asyncio.Task[None] | None = None
        self._pusher: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Start polling, or register the webhook; start pushing out-of-turn messages."""
        pruned = await to_thread.run_sync(self.callbacks.prune)
        if pruned:
            log.info("forgot %d expired button tokens", pruned)
        self._pusher = asyncio.create_task(self._push_out_of_turn(), name="telegram-push")
        if self.config.mode == "webhook":
            self._polling = asyncio.create_task(self._set_webhook(), name="telegram-webhook")
        else:
            self._polling = asyncio.create_task(self._poll(), name="telegram-polling")

    async def _set_webhook(self) -> None:
        """Register the webhook, retrying while Telegram cannot be reached (the rest
        of the gateway serves meanwhile)."""
        assert self.config.webhook_url and self.config.webhook_secret
        for attempt in itertools.count():
            try:
                await self.bot.set_webhook(
                    self.config.webhook_url,
                    secret_token=self.config.webhook_secret,
                    allowed_updates=self.dispatcher.resolve_used_update_types(),
                )
                log.info("Telegram webhook set to %s", self.config.webhook_url)
                return
            except TelegramAPIError as exc:
                delay = RESTART_BACKOFF_S[min(attempt, len(RESTART_BACKOFF_S) - 1)]
                log.error("setWebhook failed (%s); retrying in %s s", exc, delay)
                await asyncio.sleep(delay)

    async def _poll(self) -> None:
        attempt = 0
        while True:
            try:
                with contextlib.suppress(TelegramAPIError):
                    await self.bot.delete_webhook()  # getUpdates is refused while one is set
                await self.dispatcher.start_polling(
                    self.bot,
                    polling_timeout=POLLING_TIMEOUT_S,
                    handle_signals=False,
                    close_bot_session=False,
                )
                return  # stopped on purpose
            except asyncio.CancelledError:
                raise
            except Exception:
                delay = RESTART_BACKOFF_S[min(attempt, len(RESTART_BACKOFF_S) - 1)]
                log.exception("Telegram polling stopped; restarting in %s s", delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def stop(self) -> None:
        """Stop polling and pushing, let running handlers finish, close the HTTP session."""
        if self._polling is not None:
            if self.config.mode == "polling":
                with contextlib.suppress(RuntimeError):  # not polling (yet)
                    await self.dispatcher.stop_polling()
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        await self.bot.session.close()

    def feed_in_background(self, update: Update) -> None:
        """Process a webhook update after the HTTP answer (Telegram waits for nobody)."""
        task = asyncio.create_task(self.dispatcher.feed_update(self.bot, update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- fans' messages -----------------------------------------------------------------

    async def language_for(
        self, chat_id: int, user: User | None, chat_type: str | None = "private"
    ) -> Language | None:
        """The fan's /language choice, else their Telegram language (zh* → zh, else en).

        In a group, the member's own choice (made in their private chat, whose id is
        theirs, or with /language in the group): members read different languages."""
        if is_group(chat_type):
            chat_id = user.id if user is not None else chat_id
        chosen = await to_thread.run_sync(self.chats.chosen_language, chat_id)
        return chosen or language_of(user.language_code if user else None)

    def _turn(self, conversation: str) -> asyncio.Lock:
        lock = self._turns.get(conversation)
        if lock is None:
            lock = self._turns[conversation] = asyncio.Lock()
        return lock

    async def handle_text(
        self,
        chat_id: int,
        user: User,
        text: str,
        client_message_id: str,
        composed: bool = False,
        *,
        chat_type: str | None = "private",
        pressed: bool = False,
    ) -> None:
        """A fan's text (or a pressed button's payload) through the conversation service.

        One turn at a time per conversation (a FIFO lock taken before anything else):
        the replies to a fan's messages arrive in the order the messages were sent, even
        when a flood wait delays the first ones. In a group (`chat_type` group or
        supergroup) the member's own conversation, general questions only (groups.py);
        `pressed`: `text` is the payload of a button the fan tapped.
        """
        group = is_group(chat_type)
        conversation = conversation_id(chat_id, user.id if group else None)
        async with self._turn(conversation):
            if group:
                await self._handle_group_text(chat_id, user, text, client_message_id, pressed)
            else:
                await self._handle_text(chat_id, user, text, client_message_id, composed)

    async def _handle_text(
        self, chat_id: int, user: User, text: str, client_message_id: str, composed: bool
    ) -> None:
        await to_thread.run_sync(self.chats.seen, chat_id, user.id)
        language = await self.language_for(chat_id, user)
        replies = await self._turn_replies(
            chat_id, user, conversation_id(chat_id), text, client_message_id, composed, language
        )
        if replies is not None:
            await self.send_replies(chat_id, replies)

    async def _handle_group_text(
        self, chat_id: int, user: User, text: str, client_message_id: str, pressed: bool
    ) -> None:
        """A member's message in a group: a personal topic is taken to the private chat
        before the assistant sees it; what the assistant is sent is composed here (see
        groups.py), and its replies are screened before they are posted."""
        await to_thread.run_sync(self.chats.seen, chat_id, user.id)
        language = await self.language_for(chat_id, user, "group")
        try:
            decision = await self.groups.decide(text, pressed)
        except RasaUnavailable as exc:
            log.error("assistant unavailable for group %s: %s", chat_id, exc)
            await self.say(chat_id, "telegram.unavailable", language)
            return
        if decision.private is not None or decision.text is None:
            await self.point_to_private(chat_id, user, language, decision.private)
            return
        conversation = conversation_id(chat_id, user.id)
        replies = await self._turn_replies(
            chat_id, user, conversation, decision.text, client_message_id, True, language, "group"
        )
        if replies is None:
            return
        kept, withheld = await to_thread.run_sync(self.groups.screen, replies)
        if withheld:
            log.warning("withheld ticket or order details from group %s", chat_id)
        await self.send_replies(chat_id, kept, group=True)
        if withheld:
            await self.point_to_private(chat_id, user, language, None, "telegram.group.withheld")

    async def _turn_replies(
        self,
        chat_id: int,
        user: User,
        conversation: str,
        text: str,
        client_message_id: str,
        composed: bool,
        language: Language | None,
        chat_type: str = "private",
    ) -> list[Reply] | None:
        """The assistant's replies to one message; None (and an apology) when it is down."""
        metadata = {
            "customer": f"tg:{user.id}",
            "telegram": {
                "chat_id": chat_id,
                "user_id": user.id,
                "username": user.username,
                "chat_type": chat_type,
            },
        }

        async def one_moment(note: str) -> None:  # the answer is slow: say so, keep waiting
            await self.deliver(chat_id, [Outgoing(note)])

        try:
            async with self.delivery.typing(chat_id):
                outcome = await self._conversations().handle_fan_message(
                    conversation,
                    text,
                    language=language,
                    client_message_id=client_message_id,
                    metadata=metadata,
                    channel="telegram",
                    composed=composed,
                    on_delay=one_moment,
                )
        except Busy:  # nothing was stored: the fan is asked to send it again
            log.warning("chat %s: message not taken, the desk is full", chat_id)
            await self.say(chat_id, "common.busy", language)
            return None
        except RasaUnavailable as exc:
            log.error("assistant unavailable for chat %s: %s", chat_id, exc)
            await self.say(chat_id, "telegram.unavailable", language)
            return None
        return outcome.replies

    async def point_to_private(
        self,
        chat_id: int,
        user: User,
        language: Language | None,
        topic: str | None,
        key: str = "telegram.group.private_only",
    ) -> None:
        """Tell a group member this is for a private chat, with a button opening it
        (`t.me/<bot>?start=<topic>`, picked up by /start there)."""
        me = await self.bot.me()
        link = private_link(me.username, topic or "private")
        keyboard = private_keyboard(self.text("telegram.group.open_private", language), link)
        name = user.first_name or (f"@{user.username}" if user.username else "")
        await self.deliver(chat_id, [Outgoing(self.text(key, language, name=name), keyboard)])

    def text(self, key: str, language: Language | None, **values: Any) -> str:
        """One of the channel's own texts (`telegram.*` in the catalogue) in `language`."""
        with self.sessions() as session:  # the club record is read once per process
            names = club_names(session)
        return self.texts.text(key, language, club=names.get(language or "en", ""), **values)

    async def say(self, chat_id: int, key: str, language: Language | None, **extra: Any) -> None:
        """One of the channel's own texts (help, refusals) to the chat."""
        await self.deliver(chat_id, [Outgoing(self.text(key, language), **extra)])

    async def send_replies(self, chat_id: int, replies: list[Reply], group: bool = False) -> None:
        """The desk's replies to the chat: text, inline keyboards, QR tickets as photos.

        `group`: screened replies for a group, where a button that starts a personal flow
        is a link to the private chat instead."""
        items = [await self.outgoing(r.text, r.buttons, r.image, group) for r in captioned(replies)]
        await self.deliver(chat_id, items)

    async def outgoing(
        self, text: str, buttons: list[Button], image: str | None, group: bool = False
    ) -> Outgoing:
        """One stored or fresh reply as a Telegram message."""
        links = None
        if group and buttons:
            username = (await self.bot.me()).username

            def links(payload: str) -> str | None:
                topic = self.groups.link_for(payload)
                return private_link(username, topic) if topic is not None else None

        keyboard = await to_thread.run_sync(self.callbacks.keyboard, buttons, links)
        photo = None
        if image:
            photo = await to_thread.run_sync(png_for_link, self.sessions, self.media_secret, image)
            if photo is None:
                log.warning("not a live ticket link, sent as text: %s", image.split("?")[0])
                text = f"{text}\n{image}".strip()
        return Outgoing(text, keyboard, photo)

    async def deliver(self, chat_id: int, items: list[Outgoing]) -> bool:
        """Send, logging instead of raising (a handler must keep the bot serving)."""
        try:
            await self.delivery.send(chat_id, items)
            return True
        except Blocked:
            log.info("chat %s has blocked the bot: %d messages not sent", chat_id, len(items))
        except DeliveryFailed as exc:
            log.error("messages to chat %s not delivered: %s", chat_id, exc)
        return False

    # --- out-of-turn messages (agents, system) --------------------------------------------

    async def _push_out_of_turn(self) -> None:
        while True:
            with self.bus.subscribe() as subscription:
                while not subscription.overflowed:
                    event = await subscription.next()
                    try:
                        await self._on_event(event)
                    except Exception:  # one bad event must not stop the push
                        log.exception("could not push %s event to Telegram", event.type)
            log.error("Telegram push fell behind the event bus; resubscribing")

    async def _on_event(self, event: Event) -> None:
        chat_id = chat_of(event.conversation_id or "")
        if chat_id is None:
            return
        if event.type == "typing" and event.data.get("who") == "agent":
            with contextlib.suppress(TelegramAPIError):
                await self.bot.send_chat_action(chat_id, "typing")
            return
        if event.type != "message":
            return
        message = event.data.get("message") or {}
        if message.get("sender") in (None, "fan", "bot"):
            return  # the fan's own words, or bot replies already sent in their turn
        buttons = [Button(b["title"], b["payload"]) for b in message.get("buttons") or []]
        text, image = str(message.get("text") or ""), message.get("image")
        group = is_group_chat(chat_id)
        if group and (image or await to_thread.run_sync(self.groups.private_text, text)):
            log.warning("not posted to group %s: ticket or order details", chat_id)
            return
        item = await self.outgoing(text, buttons, image, group)
        # In a task: a flood wait on one chat must not hold up the others.
        task = asyncio.create_task(self.deliver(chat_id, [item]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
