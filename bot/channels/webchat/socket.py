"""One widget's live conversation over a WebSocket.

After the `hello` frame the server sends `welcome` (status, queue position), then the
messages the widget lacks, then live frames:

- `message` (a stored message: fan, bot, agent or system, with its id),
- `ack` (`id` = the client message id: stored and answered; resend until acked),
- `typing` (`who`: bot / agent), `status` (`status`, `position` while queued),
- `error` (`code`, `message`, `id`?; `retry` when sending again later may work).

Fan messages are processed one after another in arrival order by a worker task, so the
socket keeps reading (and refusing bad frames) while the assistant thinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Coroutine, Iterator
from typing import Any

from anyio import to_thread
from fastapi import WebSocket, WebSocketDisconnect

from bot.channels.webchat import frames, history
from bot.channels.webchat.limits import RateLimit
from bot.conversations.service import ConversationService
from bot.handoff.desk import HandoffDesk
from bot.handoff.events import Event
from bot.rasa.client import RasaUnavailable

log = logging.getLogger("matchday.widget")
HELLO_TIMEOUT_S = 10.0
MAX_WAITING = 10  # fan messages queued behind the one being answered
MESSAGE_BURST, MESSAGE_REFILL_PER_S = 10, 1.0  # far above any fan's typing speed
TYPING_EVERY_S = 2.0
SENT_MEMORY = 2000
TOO_SLOW = 1008
UNAUTHORISED = 4401
# Open sockets by conversation: a fan with the chat open in two tabs sees both tabs'
# messages and the bot's replies in each (the bus carries only what agents may see).
_OPEN: dict[str, set[WidgetSocket]] = {}


class WidgetSocket:
    """Serves one authenticated widget connection until it closes."""

    def __init__(
        self,
        websocket: WebSocket,
        conversation_id: str,
        service: ConversationService,
        desk: HandoffDesk,
        after: int,
    ) -> None:
        self.ws = websocket
        self.cid = conversation_id
        self.service = service
        self.desk = desk
        self.floor = after  # every message up to here is known to the widget
        self.sent: deque[int] = deque(maxlen=SENT_MEMORY)
        self.status = "bot"
        self.position: int | None = None
        self.inbox: asyncio.Queue[frames.FanText] = asyncio.Queue(MAX_WAITING)
        self.limit = RateLimit(MESSAGE_BURST, MESSAGE_REFILL_PER_S)
        self.typing_at = 0.0
        self._send_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the socket's tasks (a failure only ends that work)."""
        task = asyncio.create_task(self._guarded(work))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        # If that socket is closing, its widget catches up when it reconnects.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await work

    async def send(self, body: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_json(body)

    async def run(self) -> None:
        """Catch up, then serve frames, events and fan messages until disconnected."""
        with self.desk.bus.subscribe() as subscription, self._registered():
            snapshot = await to_thread.run_sync(self._snapshot, False)
            self.status, self.position = snapshot.status, snapshot.position
            await self.send(
                {"type": "welcome", "conversation_id": self.cid, **snapshot.state_json()}
            )
            await self.catch_up()
            tasks = [
                asyncio.create_task(self._receive()),
                asyncio.create_task(self._events(subscription)),
                asyncio.create_task(self._work()),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = task.exception()
                    if error is not None and not isinstance(
                        error, WebSocketDisconnect | RuntimeError
                    ):
                        log.warning("widget socket of %s ended: %r", self.cid, error)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(
                        asyncio.CancelledError, WebSocketDisconnect, RuntimeError
                    ):
                        await task

    @contextlib.contextmanager
    def _registered(self) -> Iterator[None]:
        _OPEN.setdefault(self.cid, set()).add(self)
        try:
            yield
        finally:
            peers = _OPEN.get(self.cid, set())
            peers.discard(self)
            if not peers:
                _OPEN.pop(self.cid, None)

    def _snapshot(self, with_messages: bool = True) -> history.Snapshot:
        return history.load(
            self.desk.sessions, self.desk.queue, self.cid, self.floor, with_messages=with_messages
        )

    async def catch_up(self) -> None:
        """Send the stored messages the widget has not been sent yet."""
        while True:
            snapshot = await to_thread.run_sync(self._snapshot)
            for message in snapshot.messages:
                await self._send_message(message)
                self.floor = max(self.floor, int(message["id"]))
            if len(snapshot.messages) < history.PAGE:
                break
        await self._set_state(snapshot.status, snapshot.position)

    async def _send_message(self, message: dict[str, Any]) -> None:
        if message["id"] in self.sent:
            return
        self.sent.append(message["id"])
        await self.send({"type": "message", "message": message})

    async def _set_state(self, status: str, position: int | None) -> None:
        if (status, position) != (self.status, self.position):
            self.status, self.position = status, position
            await self.send({"type": "status", "status": status, "position": position})

    # --- frames from the widget --------------------------------------------------------

    async def _receive(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            raw = message.get("text") if message.get("text") is not None else message.get("bytes")
            try:
                frame = frames.parse(raw)
                await self._handle(frame)
            except frames.Refusal as refusal:
                log.warning(
                    "widget frame refused on %s: %s (%s)", self.cid, refusal.code, refusal.message
                )
                await self.send(refusal.as_json())

    async def _handle(self, frame: frames.Frame) -> None:
        if isinstance(frame, frames.Ping):
            await self.send({"type": "pong"})
        elif isinstance(frame, frames.Typing):
            now = time.monotonic()
            if now - self.typing_at >= TYPING_EVERY_S:
                self.typing_at = now
                await to_thread.run_sync(self.desk.fan_typing, self.cid)
        elif isinstance(frame, frames.FanText):
            wait = self.limit.take("fan")
            if wait > 0:
                raise frames.Refusal(
                    "slow_down", f"Too many messages; wait {wait:.0f} s.", frame.id
                ) from None
            try:
                self.inbox.put_nowait(frame)
            except asyncio.QueueFull:
                raise frames.Refusal(
                    "busy", "Still answering your earlier messages.", frame.id
                ) from None
        else:
            raise frames.Refusal("already_connected", "This socket is already signed in.")

    async def _work(self) -> None:
        while True:
            frame = await self.inbox.get()
            await self.send({"type": "typing", "who": "bot"})
            try:
                outcome = await self.service.handle_fan_message(
                    self.cid,
                    frame.text,
                    language=frame.language,  # type: ignore[arg-type]
                    client_message_id=frame.id,
                    channel="web",
                )
            except RasaUnavailable:
                log.warning("assistant unavailable for widget conversation %s", self.cid)
                await self.send(
                    {
                        "type": "error",
                        "code": "assistant_unavailable",
                        "message": "The assistant is not answering right now; retrying.",
                        "id": frame.id,
                        "retry": True,
                    }
                )
                continue
            await self.catch_up()
            await self.send({"type": "ack", "id": frame.id, "status": outcome.status})
            for peer in _OPEN.get(self.cid, set()) - {self}:
                peer.later(peer.catch_up())

    # --- what the desk publishes -------------------------------------------------------

    async def _events(self, subscription: Any) -> None:
        while True:
            event: Event = await subscription.next()
            if subscription.overflowed:
                await self.ws.close(TOO_SLOW, "too slow; reconnect")
                return
            if event.conversation_id == self.cid:
                await self._own_event(event)
            elif event.type == "queue" and self.status == "queued":
                # Someone else joined, left or was claimed: our place may have moved.
                snapshot = await to_thread.run_sync(self._snapshot, False)
                await self._set_state(snapshot.status, snapshot.position)

    async def _own_event(self, event: Event) -> None:
        if event.type == "message":
            message = event.data.get("message")
            # The fan's own messages come with their client id from `catch_up`.
            if isinstance(message, dict) and message.get("sender") != "fan":
                await self._send_message(message)
        elif event.type == "typing" and event.data.get("who") == "agent":
            await self.send({"type": "typing", "who": "agent"})
        elif event.type in ("status", "queue"):
            snapshot = await to_thread.run_sync(self._snapshot, False)
            await self._set_state(snapshot.status, snapshot.position)
