"""The one code path every fan message takes, whatever channel it came from.

A message is stored, sent to the Rasa assistant, and the replies stored with a
link to the message they answer. A repeated `client_message_id` returns the first
result instead of being processed twice. When Rasa cannot answer, the fan's
message is removed again so that a retry starts from a clean state.

Only the desk speaks Rasa's intent syntax (`/intent{"entity": ...}`). A fan's text
that starts with `/` reaches the assistant as an intent only when it is exactly the
payload of one of the desk's latest buttons in this conversation (a tap, or an API
client echoing it; the latest keyboard stays in force until the desk sends another)
or when the channel itself composed it (Telegram's `/start` deep links and `/human`).
A payload of an older button is sent as that button's title; anything else loses
its leading slashes and is plain text, so nobody can skip a form step or set an
entity the desk did not offer.

Fans type more than they tap: a typed message that names exactly one of the buttons
of the desk's last turn (its title or a near spelling, "the second one", "cheapest",
"pay now" to a Pay button; knowledge/typed.py) is sent as that button's payload, as if
tapped. Only the last turn's: once the desk has said something else ("Paid!"), typed
words answer that, not an older question.

The assistant reads simplified Chinese: a fan's text reaches it through
`to_simplified` (門票 as 门票, ＶＩＰ２張 as VIP2张), checked for `/` after that so a
full-width slash is no way round the rule above. The transcript keeps what the fan
typed. The replies of the turn (texts and button titles, not payloads) are written
in the script of the fan's message, or of their latest earlier one in Han characters
when this one has none (a tapped button, a number); Rasa is told it as
`metadata["script"]`.

Back-pressure. Messages of one conversation are processed one at a time, in the order
they came; at most `Pressure.concurrency` of all conversations are at the assistant at
once, the others wait their turn. A message is refused before anything is stored
(`Busy`: the channel says "send it again in a minute", the API answers 429 or 503)
when more than `per_conversation` are waiting in its conversation or `queue` in all.
A message not answered within `patience_s` is not given up: the fan is told "one
moment" (`on_delay`: the widget's typing line, a Telegram message; the API answers 202
with `pending`) and the answer follows when it comes. The processing itself runs on to
its end whatever happens to the caller (a closed socket, a client that gave up), so a
message reaches the assistant once and its answer is stored for the history.

A `HandoffHook` (the human handoff desk, bot/handoff/desk.py) is consulted on the
same path for every channel: before the assistant (while a person has the
conversation the bot stays silent and the message goes to the agent) and after it
(the router may escalate; its system messages are appended to the replies).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.models import Conversation, Message
from bot.rasa.client import AssistantAnswer, RasaClient, RasaUnavailable
from core import correlation, metrics
from core.clock import utcnow
from core.db import write_session
from core.texts import text as catalogue_text
from knowledge.language import Language, detect_language, written_language
from knowledge.script import Script, script_of, to_script, to_simplified
from knowledge.typed import Offered, match_button
from ticketing.risk import HoldSource

Status = Literal["bot", "queued", "with_agent", "closed"]
log = logging.getLogger("matchday.conversations")


@dataclass(frozen=True)
class Pressure:
    """How many fan messages the desk takes on at once (see the module)."""

    patience_s: float = 5.0  # after this the fan is told "one moment"
    concurrency: int = 16  # messages at the assistant at once, all conversations
    queue: int = 2000  # messages waiting for the assistant, all conversations
    per_conversation: int = 10  # messages waiting in one conversation


class Busy(RuntimeError):
    """Too many messages are waiting; this one was not taken (nothing was stored)."""

    def __init__(self, code: str, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    sender: str
    text: str
    buttons: list[Button] = field(default_factory=list)
    image: str | None = None


@dataclass(frozen=True)
class Outcome:
    conversation_id: str
    status: Status
    replies: list[Reply]
    pending: bool = False  # the answer is still coming (replies: "one moment")


@dataclass(frozen=True)
class StoredMessage:
    id: int
    sender: str
    text: str
    buttons: list[Button]
    image: str | None
    created_at: datetime


@dataclass(frozen=True)
class FanTurn:
    """A stored fan message, as the handoff hook sees it."""

    conversation_id: str
    message_id: int
    text: str
    language: Language
    status: Status
    channel: str
    metadata: dict[str, Any] | None


class HandoffHook(Protocol):
    """What the conversation service asks the human handoff desk on every fan message."""

    async def before_assistant(self, turn: FanTurn) -> Outcome | None:
        """An outcome to answer with instead of the assistant, or None to ask the assistant."""
        ...

    async def after_assistant(
        self, turn: FanTurn, answer: AssistantAnswer, replies: list[Reply]
    ) -> Outcome | None:
        """An outcome replacing the assistant's (e.g. escalated), or None to keep it."""
        ...


def _reply_from_row(row: Message) -> Reply:
    return Reply(row.sender, row.text, [Button(**b) for b in row.buttons or []], row.image)


def _replies_from_rasa(messages: list[dict[str, Any]]) -> list[Reply]:
    replies: list[Reply] = []
    for message in messages:
        buttons = [
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in message.get("buttons") or []
        ]
        text = str(message.get("text") or "")
        image = message.get("image")
        if text or buttons or image:
            replies.append(Reply("bot", text, buttons, str(image) if image else None))
    return replies


def _in_script(reply: Reply, script: Script) -> Reply:
    """The reply as the fan reads it: text and button titles in `script` (payloads as sent)."""
    if script == "simplified":
        return reply
    buttons = [Button(to_script(b.title, script), b.payload) for b in reply.buttons]
    return replace(reply, text=to_script(reply.text, script), buttons=buttons)


INTENT_PREFIX = "/"
# How far back a tapped button is looked for (older ones are plain text).
BUTTON_LOOKBACK = 50
# How many of the fan's earlier messages are read for the script they write in.
SCRIPT_LOOKBACK = 20


class Keyboard(NamedTuple):
    """The desk's buttons in a conversation, as the fan's screen shows them."""

    latest: list[Button]  # of the most recent desk turn that had any (still in force)
    earlier: list[Button]  # of the turns before that
    fresh: bool  # `latest` came with the desk's very last turn


def _offered_buttons(session: Session, conversation_id: str) -> Keyboard:
    """The desk's latest buttons in this conversation, and those of earlier turns.

    The latest are those of the most recent desk turn that had any: an answer without
    buttons (to a question in between) leaves that keyboard in force, as it stays on
    the fan's screen; a newer keyboard replaces it.
    """
    rows = session.execute(
        select(Message.sender, Message.buttons)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(BUTTON_LOOKBACK)
    ).all()
    turns: list[list[Button]] = [[]]
    for sender, buttons in rows:  # newest first
        if sender == "fan":
            turns.append([])
            continue
        for b in buttons or ():
            turns[-1].append(Button(str(b.get("title", "")), str(b.get("payload", ""))))
    with_buttons = [turn for turn in turns if turn]
    if not with_buttons:
        return Keyboard([], [], fresh=False)
    earlier = [b for turn in with_buttons[1:] for b in turn]
    return Keyboard(with_buttons[0], earlier, fresh=bool(turns[0]))


def _as_fan_text(text: str, offered: Keyboard) -> str:
    """What the assistant is sent for a fan's text that starts with `/` (see the module)."""
    latest, earlier, _ = offered
    given = text.strip()
    if any(button.payload == given for button in latest):
        return given
    for button in earlier:
        if button.payload == given and button.title.strip():
            return to_simplified(button.title.strip())
    plain = to_simplified(given).lstrip(INTENT_PREFIX).strip()
    return plain or "?"


def _typed_button(text: str, latest: list[Button]) -> str | None:
    """The payload of the one latest button that typed `text` names (knowledge/typed.py)."""
    found = match_button(text, [Offered(b.title, b.payload) for b in latest])
    return found.payload if found is not None else None


def _earlier_script(session: Session, conversation_id: str) -> Script | None:
    """The script of the fan's latest earlier message that has Han characters."""
    texts = session.scalars(
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.sender == "fan")
        .order_by(Message.id.desc())
        .limit(SCRIPT_LOOKBACK)
    )
    return next((found for text in texts if (found := script_of(text))), None)


def customer_id(channel: str, conversation_id: str, metadata: dict[str, Any] | None) -> str:
    """The ticketing customer behind a conversation (an external id such as `tg:123`).

    Channels that know the fan (Telegram, the widget's session) pass it as
    `metadata["customer"]`; otherwise the conversation itself is the customer.
    """
    given = (metadata or {}).get("customer")
    if isinstance(given, str) and given.strip():
        return given.strip()[:128]
    return f"{channel}:{conversation_id}"


class ConversationService:
    """Stores conversations and routes fan messages to the assistant."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        rasa: RasaClient,
        *,
        handoff: HandoffHook | None = None,
        pressure: Pressure | None = None,
    ) -> None:
        self._sessions = sessions
        self._rasa = rasa
        self._handoff = handoff
        self._pressure = pressure or Pressure()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._assistant = asyncio.Semaphore(self._pressure.concurrency)
        self._waiting: dict[str, int] = {}  # messages taken and not yet answered, by conversation
        self._at_assistant = 0
        self._work: set[asyncio.Task[Outcome]] = set()

    @property
    def waiting(self) -> int:
        """Messages taken and not yet answered, all conversations."""
        return sum(self._waiting.values())

    async def drain(self) -> None:
        """Wait for the messages being processed (at shutdown)."""
        if self._work:
            await asyncio.wait(set(self._work))

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def handle_fan_message(
        self,
        conversation_id: str,
        text: str,
        *,
        language: Language | None = None,
        client_message_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        channel: str = "api",
        composed: bool = False,
        source: HoldSource | None = None,
        on_delay: Callable[[str], Awaitable[None]] | None = None,
    ) -> Outcome:
        """Process one fan message and return the desk's replies (idempotent by id).

        `composed`: the channel made `text` itself (a deep link, a command), so it may
        carry an intent whatever the desk last sent. `source`: where it came from (the
        client's address, the page's origin, the API key), for the engine's budgets.
        `on_delay(text)`: tells the fan "one moment" (`text`, in their language) when the
        answer takes longer than the patience; without it the outcome is returned then,
        `pending`, with that text as its reply, and the answer is stored when it comes.

        Raises:
            Busy: too many messages wait (nothing was stored).
            RasaUnavailable: the assistant failed (the message was removed again).
        """
        self._admit(conversation_id)
        metrics.messages_in(channel)
        work = asyncio.ensure_future(
            self._handle(
                conversation_id,
                text,
                language,
                client_message_id,
                metadata,
                channel,
                composed,
                source,
            )
        )
        self._work.add(work)
        work.add_done_callback(self._work.discard)
        work.add_done_callback(lambda _: self._release(conversation_id))
        done, _ = await asyncio.wait({work}, timeout=self._pressure.patience_s)
        if done:
            return work.result()
        wait = catalogue_text("common.one_moment", language or written_language(text) or "en")
        log.warning("message in %s waits for the assistant; fan told so", conversation_id)
        if on_delay is None:
            work.add_done_callback(self._report_failure)
            return Outcome(conversation_id, "bot", [Reply("system", wait)], pending=True)
        await on_delay(wait)
        return await asyncio.shield(work)

    def _admit(self, conversation_id: str) -> None:
        pressure = self._pressure
        if self._waiting.get(conversation_id, 0) >= pressure.per_conversation:
            raise Busy(
                "conversation_busy",
                "Still answering your earlier messages; send this one again in a moment.",
                5,
            )
        if self.waiting >= pressure.queue:
            raise Busy("desk_busy", "Very many fans are writing; please retry in a minute.", 30)
        self._waiting[conversation_id] = self._waiting.get(conversation_id, 0) + 1
        metrics.set_queue_length("assistant_waiting", self.waiting)

    def _release(self, conversation_id: str) -> None:
        left = self._waiting.get(conversation_id, 1) - 1
        if left > 0:
            self._waiting[conversation_id] = left
        else:
            self._waiting.pop(conversation_id, None)
        metrics.set_queue_length("assistant_waiting", self.waiting)

    @staticmethod
    def _report_failure(work: asyncio.Task[Outcome]) -> None:
        if not work.cancelled() and work.exception() is not None:
            log.error("a pending message was not answered: %s", work.exception())

    async def _handle(
        self,
        conversation_id: str,
        text: str,
        language: Language | None,
        client_message_id: str | None,
        metadata: dict[str, Any] | None,
        channel: str,
        composed: bool,
        source: HoldSource | None,
    ) -> Outcome:
        started = time.perf_counter()
        async with self._lock(conversation_id):
            if client_message_id is not None:
                earlier = await to_thread.run_sync(
                    self._earlier_outcome, conversation_id, client_message_id
                )
                if earlier is not None:
                    return earlier
            message_id, status, resolved, for_assistant, script = await to_thread.run_sync(
                self._store_fan_message,
                conversation_id,
                text,
                language,
                client_message_id,
                channel,
                composed,
            )
            turn = FanTurn(conversation_id, message_id, text, resolved, status, channel, metadata)
            if self._handoff is not None:
                early = await self._handoff.before_assistant(turn)
                if early is not None:
                    metrics.messages_out(channel, len(early.replies))
                    return early
                status = "bot"
            elif status != "bot":
                return Outcome(conversation_id, status, [])
            rasa_metadata: dict[str, Any] = {
                "language": resolved,
                "script": script,
                "channel": channel,
                "conversation_id": conversation_id,
                "customer": customer_id(channel, conversation_id, metadata),
                **({"client": metadata} if metadata else {}),
            }
            if source is not None:
                rasa_metadata["source"] = source.as_metadata()
            if (given := correlation.current()) is not None:
                rasa_metadata["correlation_id"] = given
            try:
                answer = await self._ask(conversation_id, for_assistant, rasa_metadata)
            except RasaUnavailable:
                await to_thread.run_sync(self._forget_message, message_id)
                raise
            replies = [_in_script(reply, script) for reply in _replies_from_rasa(answer.messages)]
            await to_thread.run_sync(self._store_replies, conversation_id, message_id, replies)
            outcome = Outcome(conversation_id, status, replies)
            if self._handoff is not None:
                outcome = await self._handoff.after_assistant(turn, answer, replies) or outcome
            metrics.messages_out(channel, len(outcome.replies))
            metrics.observe_stage("gateway", time.perf_counter() - started)
            return outcome

    async def _ask(self, sender: str, text: str, metadata: dict[str, Any]) -> AssistantAnswer:
        """The assistant's answer, once one of the `concurrency` places is free."""
        async with self._assistant:
            self._at_assistant += 1
            metrics.set_queue_length("rasa_inflight", self._at_assistant)
            try:
                with metrics.timed("rasa"):
                    return await self._rasa.send(sender, text, metadata)
            finally:
                self._at_assistant -= 1
                metrics.set_queue_length("rasa_inflight", self._at_assistant)

    def _earlier_outcome(self, conversation_id: str, client_message_id: str) -> Outcome | None:
        with self._sessions() as session:
            fan = session.scalar(
                select(Message).where(
                    Message.conversation_id == conversation_id,
                    Message.client_message_id == client_message_id,
                )
            )
            if fan is None:
                return None
            rows = session.scalars(
                select(Message).where(Message.reply_to == fan.id).order_by(Message.id)
            )
            conversation = session.get(Conversation, conversation_id)
            status: Status = conversation.status if conversation else "bot"  # type: ignore[assignment]
            return Outcome(conversation_id, status, [_reply_from_row(r) for r in rows])

    def _store_fan_message(
        self,
        conversation_id: str,
        text: str,
        language: Language | None,
        client_message_id: str | None,
        channel: str,
        composed: bool,
    ) -> tuple[int, Status, Language, str, Script]:
        # write_session: BEGIN IMMEDIATE on SQLite, so concurrent fans wait their turn
        # instead of failing with "database is locked".
        with write_session(self._sessions) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                try:
                    with session.begin_nested():
                        conversation = Conversation(id=conversation_id, channel=channel)
                        session.add(conversation)
                except IntegrityError:  # created at the same moment by another gateway
                    conversation = session.get(Conversation, conversation_id)
                    assert conversation is not None
            for_assistant = text if composed else to_simplified(text)
            if not composed:
                offered = _offered_buttons(session, conversation_id)
                if for_assistant.lstrip().startswith(INTENT_PREFIX):
                    for_assistant = _as_fan_text(text, offered)
                elif offered.fresh:  # typed words are read against the question just asked
                    for_assistant = _typed_button(for_assistant, offered.latest) or for_assistant
            stored: Language | None = conversation.language  # type: ignore[assignment]
            # What the fan writes in wins: a widget set to English answers Chinese text
            # in Chinese. The channel's setting, then the conversation's, decide for
            # messages that do not say ("2", "ok", a tapped button).
            resolved: Language = (
                written_language(text) or language or stored or detect_language(text)
            )
            script: Script = (
                script_of(text)
                or (_earlier_script(session, conversation_id) if resolved == "zh" else None)
                or "simplified"
            )
            conversation.language = resolved
            conversation.updated_at = utcnow()
            message = Message(
                conversation_id=conversation_id,
                sender="fan",
                text=text,
                client_message_id=client_message_id,
            )
            session.add(message)
            session.flush()
            status: Status = conversation.status  # type: ignore[assignment]
            return message.id, status, resolved, for_assistant, script

    def _forget_message(self, message_id: int) -> None:
        with write_session(self._sessions) as session:
            message = session.get(Message, message_id)
            if message is not None:
                session.delete(message)

    def _store_replies(self, conversation_id: str, message_id: int, replies: list[Reply]) -> None:
        with write_session(self._sessions) as session:
            session.add_all(
                Message(
                    conversation_id=conversation_id,
                    sender=reply.sender,
                    text=reply.text,
                    buttons=[b.__dict__ for b in reply.buttons] or None,
                    image=reply.image,
                    reply_to=message_id,
                )
                for reply in replies
            )

    def history(
        self, conversation_id: str, after: int | None, limit: int
    ) -> tuple[Status, list[StoredMessage]] | None:
        """The conversation's status and messages after id `after`, oldest first."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return None
            query = (
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id)
                .limit(limit)
            )
            if after is not None:
                query = query.where(Message.id > after)
            messages = [
                StoredMessage(
                    id=row.id,
                    sender=row.sender,
                    text=row.text,
                    buttons=[Button(**b) for b in row.buttons or []],
                    image=row.image,
                    created_at=row.created_at,
                )
                for row in session.scalars(query)
            ]
            return conversation.status, messages  # type: ignore[return-value]
