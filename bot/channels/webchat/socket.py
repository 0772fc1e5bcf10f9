"""One widget's live conversation over a WebSocket.

After the `hello` frame the server sends `welcome` (status, queue position), then the
messages the widget lacks, then live frames:

- `message` (a stored message: fan, bot, agent or system, with its id),
- `ack` (`id` = the client message id: stored and answered; resend until acked),
- `typing` (`who`: bot / agent), `status` (`status`, `position` while queued),
- `error` (`code`, `message`, `id`?; `retry` when sending again later may work),
- `token` (`token`, `expires_at`): the token renewed, once less than half of its life is
  left; the widget keeps it in place of the old one.

Fan messages are processed one after another in arrival order by a worker task, so the
socket keeps reading (and refusing bad frames) while the assistant thinks. Each is
answered under a correlation id of its own (core/correlation.py).

`LiveSockets` knows this gateway's open sockets by conversation. While any is open, it
sweeps every `SWEEP_EVERY_S`: one query finds which of their conversations were revoked
(by `desk widget revoke` in any process) and closes those sockets with 4401, and refused
frames kept out of the log are counted in one line per address (`REFUSALS_LOGGED_EVERY_S`).
A socket whose token is renewed checks the database then too; frames never do.
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
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.webchat import frames, history, revocations, tokens
from bot.channels.webchat.limits import LogThrottle, RateLimit
from bot.channels.webchat.sessions import WidgetRefused, WidgetSessions, revoked_refusal
from bot.conversations.service import Busy, ConversationService
from bot.conversations.sources import connection_source
from bot.handoff.desk import HandoffDesk
from bot.handoff.events import Event
from bot.rasa.client import RasaUnavailable
from core import correlation, metrics

log = logging.getLogger("matchday.widget")
HELLO_TIMEOUT_S = 10.0
MAX_WAITING = 10  # fan messages queued behind the one being answered
MESSAGE_BURST, MESSAGE_REFILL_PER_S = 10, 1.0  # far above any fan's typing speed
TYPING_EVERY_S = 2.0
SENT_MEMORY = 2000
TOO_SLOW = 1008
UNAUTHORISED = 4401  # the token no longer works: the widget resumes or starts afresh
TOO_MANY_SOCKETS = 4429  # the reason says which cap: the widget waits long before retrying
SWEEP_EVERY_S = 10.0
REFUSALS_LOGGED_EVERY_S = 60.0
RENEW_RETRY_S = 30.0  # after the database failed a renewal


def client_address(websocket: WebSocket) -> str:
    """The client's address as the gateway sees it (after the trusted proxies)."""
    return websocket.client.host if websocket.client else "unknown"


class LiveSockets:
    """This gateway's open widget sockets, by conversation: a fan with the chat open in two
    tabs sees both tabs' messages and the bot's replies in each (the bus carries only what
    agents may see); revoked conversations' sockets are closed by the sweep."""

    def __init__(self, gate: WidgetSessions, db: sessionmaker[Session]) -> None:
        self.gate = gate
        self.db = db
        self.by_conversation: dict[str, set[WidgetSocket]] = {}
        self.refusals = LogThrottle(REFUSALS_LOGGED_EVERY_S)
        self._sweeper: asyncio.Task[None] | None = None

    def peers(self, conversation_id: str) -> set[WidgetSocket]:
        """The conversation's open sockets."""
        return set(self.by_conversation.get(conversation_id, ()))

    @contextlib.contextmanager
    def registered(self, socket: WidgetSocket) -> Iterator[None]:
        """Count `socket` as open (and sweep while anything is) until the block ends; the
        metrics' `matchday_websocket_sessions{kind="widget"}` counts it too."""
        self.by_conversation.setdefault(socket.cid, set()).add(socket)
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_while_open())
        try:
            with metrics.open_socket("widget"):
                yield
        finally:
            peers = self.by_conversation.get(socket.cid, set())
            peers.discard(socket)
            if not peers:
                self.by_conversation.pop(socket.cid, None)

    async def _sweep_while_open(self) -> None:
        while self.by_conversation:
            await asyncio.sleep(SWEEP_EVERY_S)
            await self.sweep()
        self._log_quiet(everything=True)

    async def sweep(self) -> None:
        """Close the sockets of revoked conversations; log the refusals kept quiet."""
        open_ids = list(self.by_conversation)
        if open_ids:
            try:
                revoked = await to_thread.run_sync(revocations.revoked_among, self.db, open_ids)
            except SQLAlchemyError as exc:
                log.warning("widget revocation sweep failed (retried): %s", exc)
                revoked = {}
            for cid, at in revoked.items():
                for socket in self.peers(cid):
                    if revocations.covers(at, socket.grant.expires):
                        socket.later(socket.end(UNAUTHORISED, revoked_refusal()))
        self._log_quiet(everything=False)

    def refused(self, socket: WidgetSocket, refusal: frames.Refusal) -> None:
        """Log a refused frame: at once, then at most a line per address per interval."""
        report = self.refusals.note(socket.address, f"{refusal.code} on {socket.cid}")
        if report is None:
            return
        if report.count == 1:
            log.warning(
                "widget frame refused on %s from %s: %s (%s)",
                socket.cid,
                socket.address,
                refusal.code,
                refusal.message,
            )
        else:
            _log_refusals(socket.address, report.count, report.seconds, report.last)

    def _log_quiet(self, everything: bool) -> None:
        for address, report in self.refusals.due(everything=everything):
            _log_refusals(address, report.count, report.seconds, report.last)


def _log_refusals(address: str, count: int, seconds: float, last: str) -> None:
    log.warning(
        "widget refused %d frames from %s in the last %.0f s (last: %s)",
        count,
        address,
        seconds,
        last,
    )


class WidgetSocket:
    """Serves one authenticated widget connection until it closes."""

    def __init__(
        self,
        websocket: WebSocket,
        grant: tokens.WidgetToken,
        service: ConversationService,
        desk: HandoffDesk,
        after: int,
        live: LiveSockets,
    ) -> None:
        self.ws = websocket
        self.grant = grant
        self.cid = grant.conversation_id
        self.live = live
        self.address = client_address(websocket)
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
        self._ended = asyncio.Event()

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

    async def end(self, code: int, refusal: WidgetRefused) -> None:
        """Tell the widget why, close the socket with `code`, and stop serving it."""
        self._ended.set()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.send({"type": "error", "code": refusal.code, "message": refusal.message})
            await self.ws.close(code, refusal.code)

    async def run(self) -> None:
        """Catch up, then serve frames, events and fan messages until disconnected."""
        with self.desk.bus.subscribe() as subscription, self.live.registered(self):
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
                asyncio.create_task(self._renew()),
                asyncio.create_task(self._ended.wait()),
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
                self.live.refused(self, refusal)
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
            with correlation.bind():  # a fresh id per fan message (core/correlation.py)
                await self._answer(frame)

    async def _answer(self, frame: frames.FanText) -> None:
        """Answer one fan message: the desk's replies, then the ack."""
        await self.send({"type": "typing", "who": "bot"})

        async def one_moment(text: str) -> None:  # the answer is slow: say so, keep waiting
            await self.send({"type": "typing", "who": "bot", "note": text})

        try:
            outcome = await self.service.handle_fan_message(
                self.cid,
                frame.text,
                language=frame.language,  # type: ignore[arg-type]
                client_message_id=frame.id,
                channel="web",
                source=connection_source(self.ws, origin=True),
                on_delay=one_moment,
            )
        except Busy as busy:  # nothing stored: the widget sends it again shortly
            await self.send({"type": "error", "code": "busy", "message": str(busy), "id": frame.id})
            return
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
            return
        await self.catch_up()
        await self.send({"type": "ack", "id": frame.id, "status": outcome.status})
        for peer in self.live.peers(self.cid) - {self}:
            peer.later(peer.catch_up())

    # --- the token ------------------------------------------------------------------------

    async def _renew(self) -> None:
        """Send a renewed token once less than half of its life is left; end the socket
        when the conversation may not go on (revoked, too old) or the token ran out."""
        gate = self.live.gate
        while True:
            now = time.time()
            if not tokens.renewal_due(self.grant, gate.ttl_s, now):
                await asyncio.sleep(max(0.05, self.grant.expires - gate.ttl_s / 2 - now))
                continue
            try:
                grant = await to_thread.run_sync(gate.renew, self.live.db, self.grant)
            except WidgetRefused as refusal:
                await self.end(UNAUTHORISED, refusal)
                return
            except SQLAlchemyError as exc:
                left = self.grant.expires - time.time()
                if left <= 0:
                    expired = "The widget session has expired; open a new one."
                    await self.end(UNAUTHORISED, WidgetRefused(401, "token_expired", expired))
                    return
                log.warning("widget token of %s not renewed (retried): %s", self.cid, exc)
                await asyncio.sleep(min(RENEW_RETRY_S, left))
                continue
            self.grant = grant
            await self.send({"type": "token", "token": grant.value, "expires_at": grant.expires})

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
