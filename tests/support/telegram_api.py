"""A small stand-in for Telegram's Bot API, served over real HTTP for the tests.

aiogram is pointed at it with TELEGRAM_API_SERVER (as at any Bot API server). It
implements what the channel uses: getMe, getUpdates (long polling), sendMessage,
sendPhoto, sendChatAction, answerCallbackQuery, editMessageReplyMarkup,
editMessageText, setWebhook and deleteWebhook. Every call is recorded with its
time; chosen chats can be made to answer 403 (bot blocked) or 429 (flood control
with `retry_after`). Update builders produce the JSON shapes Telegram sends.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.server import free_port

BOT_TOKEN = "123456789:TEST-token_abcdefghijklmnopqrstuvwxyz"
BOT_ID = 123456789
BOT_USERNAME = "riverside_test_bot"


@dataclass
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic()
    photo_bytes: bytes | None = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def keyboard(self) -> list[list[dict[str, Any]]]:
        markup = self.params.get("reply_markup")
        if not markup:
            return []
        rows: list[list[dict[str, Any]]] = json.loads(markup).get("inline_keyboard", [])
        return rows


@dataclass
class Failure:
    """Answer `code` to `methods` for `chat_id`, `times` times (-1: always)."""

    code: int
    times: int
    retry_after: int = 1
    methods: frozenset[str] = frozenset({"sendMessage", "sendPhoto"})


@dataclass
class FakeBotApi:
    """The stand-in's state: updates waiting to be fetched, calls received, failures."""

    port: int
    token: str = BOT_TOKEN
    calls: list[Call] = field(default_factory=list)
    pushed_at: dict[int, float] = field(default_factory=dict)
    delivered_at: dict[int, float] = field(default_factory=dict)  # handed out by getUpdates
    webhook: dict[str, Any] = field(default_factory=dict)
    failures: dict[int, Failure] = field(default_factory=dict)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    _message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _new_update: asyncio.Event | None = None
    _closing: bool = False

    def _close(self, stop: asyncio.Future[None]) -> None:
        """In the server's loop: answer long polls in flight at once, then stop (a poll
        left waiting would hold the server's shutdown until its timeout)."""
        self._closing = True
        if self._new_update is not None:
            self._new_update.set()
        stop.set_result(None)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- test side ------------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        with self._lock:
            if "update_id" not in update:
                update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
            self.pushed_at[update["update_id"]] = time.monotonic()
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)
        return int(update["update_id"])

    def next_update_id(self) -> int:
        with self._lock:
            return next(self._update_ids)

    def fail(self, chat_id: int, code: int, times: int = 1, retry_after: int = 1) -> None:
        """Make sends to `chat_id` answer `code` (403 or 429) the next `times` times."""
        self.failures[chat_id] = Failure(code, times, retry_after)

    def calls_to(self, chat_id: int, *methods: str) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.chat_id == chat_id and (not methods or c.method in methods)
            ]

    def method_calls(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition"
    ) -> Any:
        """Poll `predicate` until it returns something truthy; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        recent = [(c.method, c.chat_id, c.text[:80]) for c in self.calls[-15:]]
        raise AssertionError(f"timed out waiting for {what}; last calls: {recent}")

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.text for c in self.calls_to(chat_id, "sendMessage", "sendPhoto")]

    def wait_texts(self, chat_id: int, count: int, timeout: float = 60.0) -> list[str]:
        """Wait until at least `count` messages reached the chat; returns them all."""
        texts: list[str] = self.wait_for(
            lambda: (t := self.texts_to(chat_id)) and len(t) >= count and t,
            timeout,
            f"{count} messages to chat {chat_id}",
        )
        return texts

    # --- server side ----------------------------------------------------------------------

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Riverside"},
            **content,
        }

    def _failure(self, method: str, chat_id: int | None) -> web.Response | None:
        failure = self.failures.get(chat_id) if chat_id is not None else None
        if failure is None or method not in failure.methods or failure.times == 0:
            return None
        if failure.times > 0:
            failure.times -= 1
        if failure.code == 429:
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {failure.retry_after}",
                "parameters": {"retry_after": failure.retry_after},
            }
        else:
            body = {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        return web.json_response(body, status=failure.code)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        photo: bytes | None = None
        if request.method == "POST" and request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    photo = value.file.read()
                else:
                    params[key] = value
        params.update(request.query)
        chat_id = int(params["chat_id"]) if "chat_id" in params else None
        call = Call(method, params, time.monotonic(), photo)
        with self._lock:
            self.calls.append(call)
        if method == "getUpdates":
            return await self._get_updates(params)
        failed = self._failure(method, chat_id)
        if failed is not None:
            return failed
        return web.json_response({"ok": True, "result": self._result(method, params, chat_id)})

    def _result(self, method: str, params: dict[str, Any], chat_id: int | None) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Riverside",
                "username": BOT_USERNAME,
            }
        if method == "sendMessage":
            assert chat_id is not None
            return self._message(chat_id, text=params.get("text", ""))
        if method == "sendPhoto":
            assert chat_id is not None
            size = {"file_id": "photo-1", "file_unique_id": "u1", "width": 300, "height": 300}
            extra = {"caption": params["caption"]} if params.get("caption") else {}
            return self._message(chat_id, photo=[size], **extra)
        if method == "editMessageText":
            assert chat_id is not None
            return self._message(chat_id, text=params.get("text", ""))
        if method == "setWebhook":
            self.webhook = dict(params)
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        return True  # sendChatAction, answerCallbackQuery, editMessageReplyMarkup, ...

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        assert self._new_update is not None
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
                self._new_update.clear()
            if ready or self._closing or time.monotonic() >= deadline:
                now = time.monotonic()
                with self._lock:
                    for update in ready:
                        self.delivered_at.setdefault(update["update_id"], now)
                return web.json_response({"ok": True, "result": ready})
            with suppress(TimeoutError):
                await asyncio.wait_for(
                    self._new_update.wait(), timeout=max(0.0, deadline - time.monotonic())
                )


@contextmanager
def fake_bot_api() -> Iterator[FakeBotApi]:
    """Serve the stand-in on a free port in a thread; yields its state."""
    api = FakeBotApi(free_port())
    started = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def serve() -> None:
        nonlocal stop
        api._loop = asyncio.get_running_loop()
        api._new_update = asyncio.Event()
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", api._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", api.port).start()
        stop = api._loop.create_future()
        started.set()
        await stop
        await runner.cleanup()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the stand-in Bot API server did not start")
    try:
        yield api
    finally:
        assert api._loop is not None and stop is not None
        api._loop.call_soon_threadsafe(api._close, stop)
        thread.join(10)


# --- Update JSON, as Telegram sends it ----------------------------------------------------


def user(user_id: int, language_code: str | None = "en", first_name: str = "Fan") -> dict[str, Any]:
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code is not None:
        found["language_code"] = language_code
    return found


_message_ids = itertools.count(5000)


def _message(user_id: int, language_code: str | None, **content: Any) -> dict[str, Any]:
    return {
        "message_id": next(_message_ids),
        "from": user(user_id, language_code),
        "chat": {"id": user_id, "first_name": "Fan", "type": "private"},
        "date": int(time.time()),
        **content,
    }


def text_message(user_id: int, text: str, language_code: str | None = "en") -> dict[str, Any]:
    """A fan's text (commands get their `bot_command` entity, as Telegram sends them)."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"message": _message(user_id, language_code, **content)}


def photo_message(user_id: int, language_code: str | None = "en") -> dict[str, Any]:
    sizes = [
        {"file_id": f"AgAC{w}", "file_unique_id": f"AQAD{w}", "file_size": w * 40, "width": w,
         "height": w}
        for w in (90, 320, 800)
    ]  # fmt: skip
    return {"message": _message(user_id, language_code, photo=sizes)}


def sticker_message(user_id: int, language_code: str | None = "en") -> dict[str, Any]:
    sticker = {
        "file_id": "CAACAgIAAxkBAAE",
        "file_unique_id": "AgADxQ",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "⚽",
    }
    return {"message": _message(user_id, language_code, sticker=sticker)}


def voice_message(user_id: int, language_code: str | None = "en") -> dict[str, Any]:
    voice = {"file_id": "AwACAgIAAxk", "file_unique_id": "AgADvQ", "duration": 3}
    return {"message": _message(user_id, language_code, voice=voice)}


def edited_message(user_id: int, text: str, language_code: str | None = "en") -> dict[str, Any]:
    message = _message(user_id, language_code, text=text)
    message["edit_date"] = message["date"] + 5
    return {"edited_message": message}


def button_press(
    user_id: int, data: str, language_code: str | None = "en", message_id: int = 1
) -> dict[str, Any]:
    """A press on an inline keyboard button under the bot's message `message_id`."""
    return {
        "callback_query": {
            "id": f"cbq-{user_id}-{next(_message_ids)}",
            "from": user(user_id, language_code),
            "message": {
                "message_id": message_id,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Riverside"},
                "chat": {"id": user_id, "first_name": "Fan", "type": "private"},
                "date": int(time.time()),
                "text": "…",
            },
            "chat_instance": "-1234567890",
            "data": data,
        }
    }
