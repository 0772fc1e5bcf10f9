"""Latency of a fan's widget message: sent over the widget WebSocket → conversation
service → Rasa → actions → the reply frames and the ack back on the socket.

Starts the desk as `make run` does (free ports, throw-away SQLite database), opens
widget sessions as a page from an allowed origin would, sends messages one after
another and then from concurrent widgets, and writes bench/results/widget.json with
p50/p95/p99, the gateway's CPU time per message (less noisy than wall time on a busy
machine) and the load average.

    .venv/bin/python bench/widget.py [--messages 100] [--concurrency 10]

With `--sessions N` (N = 1000 when the flag has no number) it holds many widgets open
instead, each from its own loopback address (127.0.x.y, never 127.0.0.1, a trusted proxy)
so the desk's per-address limits apply to each as to a fan in production: M of them send
a question every `--interval` seconds (staggered), the others stay idle with the socket
open, sending the widget's `ping` every 25 s as the browser script does. Measured: send →
first reply frame and → ack (p50/p95/p99), answered / unanswered / refused messages,
sockets the bench did not close (by close code), the gateway's RSS before and after the
sessions opened and under load, CPU per message (gateway, Rasa, action server, the
bench itself) → bench/results/widget_sessions.json.

    .venv/bin/python bench/widget.py --sessions [1000] [--active 100] [--interval 5]
        [--duration 120]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import ssl
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.rasa.client import server_for
from tests.support.stack import Stack, running_desk

ORIGIN = "https://bench.example"
TEXTS = [
    "hi",
    "which matches are on this weekend?",
    "how much are tickets in category 1?",
    "你好",
    "这周末有什么比赛？",
    "can I bring a flag?",
    "what time do the gates open?",
    "thanks!",
]
RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


def gateway_pid(stack: Stack) -> int:
    supervisor = stack.process.pid
    for pid in Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split():
        if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
            return int(pid)
    raise RuntimeError("no gateway process found")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Widget:
    """One widget: a session and its socket."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.socket: ClientConnection | None = None
        self.sent = 0

    async def open(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/widget/sessions", headers={"Origin": ORIGIN})
        response.raise_for_status()
        url = self.stack.base_url.replace("http", "ws", 1) + "/api/v1/widget/ws"
        self.socket = await connect(url, origin=ORIGIN)  # type: ignore[arg-type]
        await self.socket.send(json.dumps({"type": "hello", "token": response.json()["token"]}))
        assert json.loads(await self.socket.recv())["type"] == "welcome"

    async def say(self, text: str) -> float:
        """Milliseconds from sending to the ack (the replies arrive before it)."""
        assert self.socket is not None
        self.sent += 1
        frame_id = f"bench-{self.sent}"
        t0 = time.perf_counter()
        await self.socket.send(json.dumps({"type": "message", "id": frame_id, "text": text}))
        replies = 0
        while True:
            frame: dict[str, Any] = json.loads(await self.socket.recv())
            if frame["type"] == "message" and frame["message"]["sender"] != "fan":
                replies += 1
            elif frame["type"] == "error":
                raise RuntimeError(f"refused: {frame}")
            elif frame["type"] == "ack" and frame["id"] == frame_id:
                break
        elapsed = (time.perf_counter() - t0) * 1000
        if not replies:
            raise RuntimeError(f"no reply to {text!r}")
        return elapsed

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()


async def sender(widget: Widget, turns: range, latencies: list[float]) -> None:
    for i in turns:
        latencies.append(await widget.say(TEXTS[i % len(TEXTS)]))


async def run(stack: Stack, count: int, senders: int) -> dict[str, Any]:
    pid = gateway_pid(stack)
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as client:
        # Ten widgets take turns, so none trips the per-socket flood limit (10 at once).
        pool = max(10, senders)
        for name, at_once in (("sequential", 1), (f"concurrent_{senders}", senders)):
            widgets = [Widget(stack) for _ in range(pool)]
            for widget in widgets:
                await widget.open(client)
            if name == "sequential":  # warm-up: every Rasa server answers once first
                servers = len(desk_processes(stack).get("rasa", []))
                tls = ssl.create_default_context()
                await warm_up(stack, servers, loopback_addresses(WARM_UP_TRIES), tls)
            latencies: list[float] = []
            cpu0, started = cpu_s(pid), time.perf_counter()
            if at_once == 1:
                for i in range(count):
                    latencies.append(await widgets[i % pool].say(TEXTS[i % len(TEXTS)]))
            else:
                await asyncio.gather(
                    *(sender(w, range(i, count, pool), latencies) for i, w in enumerate(widgets))
                )
            seconds, cpu = time.perf_counter() - started, cpu_s(pid) - cpu0
            for widget in widgets:
                await widget.close()
            results[name] = {
                "messages": len(latencies),
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(percentile(latencies, 95), 1),
                "p99_ms": round(percentile(latencies, 99), 1),
                "messages_per_s": round(len(latencies) / seconds, 1),
                "gateway_cpu_ms_per_message": round(cpu * 1000 / len(latencies), 1),
            }
    return results


# --- many open sessions (--sessions) -----------------------------------------------------

# Questions fans ask while the chat is open: FAQ and a few about matches and prices, in
# English and Chinese, none starting a purchase.
SESSION_TEXTS = [
    ("what time do the gates open?", "en"),
    ("can I bring a flag?", "en"),
    ("which matches are on this weekend?", "en"),
    ("is there parking at the stadium?", "en"),
    ("how much are tickets in category 1?", "en"),
    ("几点开门？", "zh"),
    ("可以带雨伞进场吗？", "zh"),
    ("这周末有什么比赛？", "zh"),
]
PING_EVERY_S = 25.0  # the widget's own keepalive frame (widget.js)
OPEN_AT_ONCE = 20  # page loads in flight while the sessions open
REPLY_TIMEOUT_S = 60.0  # a message with no ack by then counts as unanswered
SETTLE_S = 5.0
WARM_UP_TRIES = 16  # conversations opened at most to reach every Rasa server


def loopback_addresses(count: int) -> list[str]:
    """`count` client addresses on the loopback network (Linux routes all of 127/8 to
    `lo`): never 127.0.0.1, a trusted proxy by default (its X-Forwarded-For would be
    believed), nor a host part 0 or 255."""
    if count > 250 * 256:
        raise ValueError(f"at most {250 * 256} loopback addresses")
    return [f"127.0.{i // 250}.{i % 250 + 2}" for i in range(count)]


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                children = [int(c) for c in (task / "children").read_text().split()]
                found += children
                todo += children
    return found


def desk_processes(stack: Stack) -> dict[str, list[int]]:
    """The desk's server processes under its supervisor, by role (Rasa may run several)."""
    found: dict[str, list[int]] = {}
    for pid in _descendants(stack.process.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and b"bot" in argv:
            found.setdefault("gateway", []).append(pid)
        elif b"components.server" in argv:
            found.setdefault("rasa", []).append(pid)
        elif b"actions.server" in argv:
            found.setdefault("actions", []).append(pid)
    if len(found.get("gateway", [])) != 1:
        raise RuntimeError(f"expected one gateway process, found {found}")
    return found


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def open_files_limit(pid: int) -> dict[str, int | str]:
    """The process's RLIMIT_NOFILE, as /proc/<pid>/limits shows it."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return {
                "soft": int(soft) if soft.isdigit() else soft,
                "hard": int(hard) if hard.isdigit() else hard,
            }
    raise RuntimeError(f"no open files limit for {pid}")


def raise_own_open_files_limit(needed: int) -> int:
    """Lift this process's soft RLIMIT_NOFILE to its hard limit (after the desk started, so
    the desk keeps the limit it was given); fails when even that is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = hard if hard == resource.RLIM_INFINITY else max(soft, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise SystemExit(f"the bench needs {needed} open files; its hard limit is {hard}")
    return soft


def say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values), 1),
    }


@dataclass
class Turn:
    """One fan message and what came back for it (times from `time.perf_counter`)."""

    id: str
    text: str
    sent: float
    first_reply: float | None = None
    acked: float | None = None
    replies: int = 0
    told_to_wait: bool = False  # a `typing` frame with a note ("one moment ...") came
    status: str | None = None
    error: str | None = None
    over: asyncio.Event = field(default_factory=asyncio.Event)  # acked or refused


@dataclass
class Tally:
    """What every session saw, summed."""

    turns: list[Turn] = field(default_factory=list)
    frames: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    open_failures: Counter[str] = field(default_factory=Counter)
    open_ms: list[float] = field(default_factory=list)
    pong_ms: list[float] = field(default_factory=list)
    unsolicited: int = 0


class LiveWidget:
    """One widget page from its own address: a session, then a socket read until the end."""

    def __init__(self, stack: Stack, address: str, tally: Tally, tls: ssl.SSLContext) -> None:
        self.stack = stack
        self.address = address
        self.tally = tally
        self.tls = tls
        self.socket: ClientConnection | None = None
        self.conversation_id = ""
        self.reader: asyncio.Task[None] | None = None
        self.waiting: deque[Turn] = deque()  # sent, not acked yet (answered in order)
        self.pings: deque[float] = deque()
        self.sent = 0
        self.closing = False
        self.dropped = False

    async def open(self) -> None:
        """Open a session as the page does, then its socket: hello → welcome."""
        started = time.perf_counter()
        transport = httpx.AsyncHTTPTransport(local_address=self.address, verify=self.tls)
        async with httpx.AsyncClient(
            base_url=self.stack.base_url, transport=transport, trust_env=False, timeout=60
        ) as client:
            response = await client.post(
                "/api/v1/widget/sessions", json={}, headers={"Origin": ORIGIN}
            )
        if response.status_code != 201:
            raise OpenFailed(f"session {response.status_code} {response.text[:80]}")
        url = self.stack.base_url.replace("http", "ws", 1) + "/api/v1/widget/ws"
        self.socket = await connect(
            url,
            origin=ORIGIN,  # type: ignore[arg-type]
            local_addr=(self.address, 0),
            ping_interval=None,  # browsers send no protocol pings (they answer the server's)
            open_timeout=60,
            proxy=None,
        )
        token = response.json()["token"]
        self.conversation_id = response.json()["conversation_id"]
        await self.socket.send(json.dumps({"type": "hello", "token": token, "after": 0}))
        first = json.loads(await asyncio.wait_for(self.socket.recv(), 60))
        if first["type"] != "welcome":
            raise OpenFailed(f"hello answered {first.get('code') or first['type']}")
        self.tally.open_ms.append((time.perf_counter() - started) * 1000)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.socket is not None
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.socket:
                self._frame(json.loads(raw), time.perf_counter())
        if not self.closing:
            self.dropped = True
            code = self.socket.close_code
            self.tally.dropped[f"{code} {self.socket.close_reason or ''}".strip()] += 1

    def _frame(self, frame: dict[str, Any], now: float) -> None:
        kind = frame["type"]
        self.tally.frames[kind] += 1
        if kind == "message" and frame["message"]["sender"] != "fan":
            if not self.waiting:
                self.tally.unsolicited += 1
                return
            turn = self.waiting[0]
            turn.replies += 1
            if turn.first_reply is None:
                turn.first_reply = now
        elif kind == "ack":
            for turn in self.waiting:
                if turn.id == frame["id"]:
                    turn.acked, turn.status = now, frame.get("status")
                    self.waiting.remove(turn)
                    turn.over.set()
                    break
        elif kind == "error":
            self.tally.errors[frame.get("code", "?")] += 1
            for turn in self.waiting:
                if turn.id == frame.get("id"):
                    turn.error = frame.get("code", "?")
                    self.waiting.remove(turn)
                    turn.over.set()
                    break
        elif kind == "typing" and frame.get("note") and self.waiting:
            self.waiting[0].told_to_wait = True
        elif kind == "pong" and self.pings:
            self.tally.pong_ms.append((now - self.pings.popleft()) * 1000)

    async def say(self, text: str, language: str) -> Turn:
        assert self.socket is not None
        self.sent += 1
        turn = Turn(f"s-{self.sent}", text, time.perf_counter())
        self.waiting.append(turn)
        self.tally.turns.append(turn)
        frame = {"type": "message", "id": turn.id, "text": text, "language": language}
        await self.socket.send(json.dumps(frame, ensure_ascii=False))
        return turn

    async def talk(self, start: float, stop: float, interval: float, first_text: int) -> None:
        """A question every `interval` seconds from `start` until `stop` (no waiting for
        answers: a slow desk shows as latency, not as fewer messages)."""
        turn = 0
        while start + turn * interval < stop and not self.dropped:
            await asyncio.sleep(max(0.0, start + turn * interval - time.perf_counter()))
            text, language = SESSION_TEXTS[(first_text + turn) % len(SESSION_TEXTS)]
            with contextlib.suppress(ConnectionClosed):
                await self.say(text, language)
            turn += 1

    async def keep_alive(self, phase: float) -> None:
        """The widget's `ping` frame every 25 s, as widget.js sends it."""
        assert self.socket is not None
        await asyncio.sleep(phase)
        while not self.dropped and not self.closing:
            self.pings.append(time.perf_counter())
            with contextlib.suppress(ConnectionClosed):
                await self.socket.send('{"type":"ping"}')
            await asyncio.sleep(PING_EVERY_S)

    async def close(self) -> None:
        self.closing = True
        if self.socket is not None:
            await self.socket.close()
        if self.reader is not None:
            await self.reader


class OpenFailed(Exception):
    """A session or its socket was refused."""


async def open_all(widgets: list[LiveWidget], tally: Tally) -> list[LiveWidget]:
    """Open every widget, `OPEN_AT_ONCE` page loads at a time; the ones that opened."""
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one(widget: LiveWidget) -> bool:
        async with gate:
            try:
                await widget.open()
            except (OpenFailed, OSError, TimeoutError, httpx.HTTPError, WebSocketException) as exc:
                tally.open_failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                return False
            return True

    opened = await asyncio.gather(*(one(w) for w in widgets))
    return [w for w, ok in zip(widgets, opened, strict=True) if ok]


class Sampler:
    """The gateway's RSS and the load average every few seconds while load runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rss: list[float] = []
        self.load: list[float] = []

    async def run(self, every_s: float = 5.0) -> None:
        while True:
            self.rss.append(rss_mib(self.pid))
            self.load.append(os.getloadavg()[0])
            await asyncio.sleep(every_s)


async def loop_lag(lags: list[float], every_s: float = 0.1) -> None:
    """How late the bench's own event loop wakes up (its share of the latencies)."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(every_s)
        lags.append((time.perf_counter() - before - every_s) * 1000)


def cpu_now(pids: dict[str, list[int]]) -> dict[str, float]:
    now = {role: sum(cpu_s(pid) for pid in each) for role, each in pids.items()}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    now["bench"] = usage.ru_utime + usage.ru_stime
    return now


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {role: after[role] - before[role] for role in before}


async def warm_up(stack: Stack, servers: int, addresses: list[str], tls: ssl.SSLContext) -> None:
    """A conversation through each Rasa server (conversations are spread over them by id),
    so none meets the measured messages cold."""
    warmed: set[int] = set()
    for address in addresses:
        if len(warmed) >= max(1, servers):
            break
        widget = LiveWidget(stack, address, Tally(), tls)
        await widget.open()
        server = server_for(widget.conversation_id, max(1, servers))
        if server not in warmed:
            warmed.add(server)
            for text, language in SESSION_TEXTS:
                turn = await widget.say(text, language)
                await asyncio.wait_for(turn.over.wait(), REPLY_TIMEOUT_S)
        await widget.close()
    if len(warmed) < servers:
        say(f"warmed {len(warmed)} of {servers} Rasa servers")
    await asyncio.sleep(2)


async def sessions_run(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    pids = desk_processes(stack)
    gateway = pids["gateway"][0]
    say(f"desk processes {pids}; warming up")
    tally = Tally()
    context = ssl.create_default_context()  # unused (http), made once instead of per page
    addresses = loopback_addresses(args.sessions + WARM_UP_TRIES)
    await warm_up(stack, len(pids.get("rasa", [])), addresses[args.sessions :], context)

    rss_before, files_before = rss_mib(gateway), open_files(gateway)
    widgets = [LiveWidget(stack, a, tally, context) for a in addresses[: args.sessions]]
    say(f"opening {args.sessions} sessions")
    cpu0, started = cpu_now(pids), time.perf_counter()
    widgets = await open_all(widgets, tally)
    open_s, open_cpu = time.perf_counter() - started, cpu_spent(cpu0, cpu_now(pids))
    pingers = [
        asyncio.create_task(w.keep_alive(PING_EVERY_S * i / len(widgets)))
        for i, w in enumerate(widgets)
    ]
    await asyncio.sleep(SETTLE_S)
    rss_open, files_open = rss_mib(gateway), open_files(gateway)
    load_open = os.getloadavg()

    active = widgets[: args.active]
    lags: list[float] = []
    sampler = Sampler(gateway)
    watchers = [asyncio.create_task(sampler.run()), asyncio.create_task(loop_lag(lags))]
    start = time.perf_counter() + 1.0
    stop = start + args.duration
    cpu0 = cpu_now(pids)
    say(f"{len(widgets)} open; {len(active)} talking for {args.duration:.0f} s")
    await asyncio.gather(
        *(
            w.talk(start + args.interval * i / max(1, len(active)), stop, args.interval, i)
            for i, w in enumerate(active)
        )
    )
    waiting = [asyncio.create_task(t.over.wait()) for w in active for t in w.waiting]
    say(f"waiting for the last {len(waiting)} answers")
    if waiting:  # the last answers, or REPLY_TIMEOUT_S
        _, late = await asyncio.wait(waiting, timeout=REPLY_TIMEOUT_S)
        for unanswered in late:
            unanswered.cancel()
    load_seconds, load_cpu = time.perf_counter() - start, cpu_spent(cpu0, cpu_now(pids))
    rss_load = rss_mib(gateway)
    dropped_during_run = sum(tally.dropped.values())
    for task in [*watchers, *pingers]:
        task.cancel()
    for widget in widgets:
        await widget.close()

    turns = tally.turns
    answered = [t for t in turns if t.acked is not None and t.replies]
    first = [(t.first_reply - t.sent) * 1000 for t in answered if t.first_reply is not None]
    acked = [(t.acked - t.sent) * 1000 for t in answered if t.acked is not None]
    opening = [(t.first_reply - t.sent) * 1000 for t in answered if t.first_reply and t.id == "s-1"]
    later = [(t.first_reply - t.sent) * 1000 for t in answered if t.first_reply and t.id != "s-1"]
    by_window: dict[int, list[float]] = {}  # by 10 s of sending: the start-up transient
    for t in answered:
        if t.first_reply is not None:
            window = int((t.sent - start) // 10) * 10
            by_window.setdefault(window, []).append((t.first_reply - t.sent) * 1000)
    by_text: dict[str, list[float]] = {}
    for t in answered:
        by_text.setdefault(t.text, []).append(((t.first_reply or t.acked or 0) - t.sent) * 1000)
    count = max(1, len(answered))
    opened = max(1, len(widgets))
    return {
        "settings": {
            "sessions": args.sessions,
            "active": len(active),
            "interval_s": args.interval,
            "duration_s": args.duration,
            "origin": ORIGIN,
            "source_addresses": len(set(addresses[: args.sessions])),
            "address_range": f"{addresses[0]} .. {addresses[args.sessions - 1]}",
            "ping_every_s": PING_EVERY_S,
            "pages_opening_at_once": OPEN_AT_ONCE,
            "reply_timeout_s": REPLY_TIMEOUT_S,
            "desk_limits": "production defaults (no MATCHDAY_WIDGET_* limit set)",
            "desk_processes": {role: len(each) for role, each in pids.items()},
        },
        "sessions": {
            "opened": len(widgets),
            "open_failures": dict(tally.open_failures),
            "open_seconds": round(open_s, 1),
            "open_ms": summary(tally.open_ms),
            "gateway_cpu_ms_per_session_opened": round(open_cpu["gateway"] * 1000 / opened, 2),
        },
        "messages": {
            "sent": len(turns),
            "answered": len(answered),
            "unanswered": sum(1 for t in turns if t.acked is None and t.error is None),
            "acked_without_reply": sum(1 for t in turns if t.acked is not None and not t.replies),
            "refused": sum(1 for t in turns if t.error is not None),
            "sent_per_s": round(len(turns) / args.duration, 2),
            "answered_per_s": round(len(answered) / load_seconds, 2),
            "told_to_wait": sum(1 for t in turns if t.told_to_wait),
            "ack_statuses": dict(Counter(t.status for t in answered)),
            "to_first_reply": summary(first),
            "to_ack": summary(acked),
            # A conversation's first message also starts its session in Rasa (dearer).
            "to_first_reply_first_message": summary(opening),
            "to_first_reply_later_messages": summary(later),
            "to_first_reply_p95_ms_by_10_s_sent": {
                f"{w}-{w + 10} s": round(percentile(v, 95), 1) for w, v in sorted(by_window.items())
            },
            "to_first_reply_p95_ms_by_text": {
                text: round(percentile(v, 95), 1) for text, v in sorted(by_text.items())
            },
        },
        "sockets": {
            "dropped": dropped_during_run,
            "dropped_by_close_code": dict(tally.dropped),
            "error_frames": dict(tally.errors),
            "frames_received": dict(tally.frames),
            "unsolicited_messages": tally.unsolicited,
            "ping_to_pong": summary(tally.pong_ms),
        },
        "gateway": {
            "pid_open_files_limit": open_files_limit(gateway),
            "open_files": {"before": files_before, "sessions_open": files_open},
            "rss_mib": {
                "before": rss_before,
                "sessions_open_idle": rss_open,
                "under_load_max": max([*sampler.rss, rss_load]),
                "after_load": rss_load,
            },
            "rss_kib_per_idle_session": round((rss_open - rss_before) * 1024 / opened, 1),
        },
        "cpu_ms_per_answered_message": {
            role: round(seconds * 1000 / count, 1) for role, seconds in load_cpu.items()
        },
        "cpu_share_of_steady_state": {
            role: round(seconds / load_seconds, 2) for role, seconds in load_cpu.items()
        },
        "bench_loop_lag": summary(lags),
        "load_average_1_5_15": {
            "sessions_open": [round(x, 2) for x in load_open],
            "under_load_max_1min": round(max(sampler.load, default=0.0), 2),
            "end": [round(x, 2) for x in os.getloadavg()],
        },
    }


CONVERSATION_ID = re.compile(r"web-[\w-]+")


def log_warnings(stack: Stack) -> dict[str, int]:
    """The gateway's warnings and errors during the run, by logger and first words."""
    path = Path(stack.env["MATCHDAY_LOG_DIR"]) / "gateway.log"
    found: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        for level in ("WARNING", "ERROR", "CRITICAL"):
            if f" {level} " in line:
                text = line.split(f" {level} ", 1)[1].split("] ", 1)[-1]
                text = CONVERSATION_ID.sub("web-*", " ".join(text.split()[:8]))
                found[f"{level} {text}"] += 1
    return dict(found.most_common(20))


def print_sessions(result: dict[str, Any]) -> None:
    s, m, k, g = result["settings"], result["messages"], result["sockets"], result["gateway"]
    print(
        f"{result['sessions']['opened']}/{s['sessions']} sessions open from "
        f"{s['source_addresses']} addresses, {s['active']} active every {s['interval_s']} s "
        f"for {s['duration_s']} s"
    )
    print(
        f"messages: {m['sent']} sent, {m['answered']} answered, {m['unanswered']} unanswered, "
        f"{m['refused']} refused; first reply p50 {m['to_first_reply']['p50_ms']} ms "
        f"p95 {m['to_first_reply']['p95_ms']} ms p99 {m['to_first_reply']['p99_ms']} ms; "
        f"ack p95 {m['to_ack']['p95_ms']} ms"
    )
    print(f"sockets dropped: {k['dropped']} {k['dropped_by_close_code'] or ''}")
    rss = g["rss_mib"]
    print(
        f"gateway RSS {rss['before']} → {rss['sessions_open_idle']} MiB idle "
        f"({g['rss_kib_per_idle_session']} KiB per session) → {rss['under_load_max']} MiB "
        f"under load; CPU ms per answered message {result['cpu_ms_per_answered_message']}"
    )
    verdict = "met" if result["met"] else "NOT met"
    print(f"target (p95 ≤ 1 s, every message answered, no socket dropped): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument(
        "--sessions", type=int, nargs="?", const=1000, help="hold N widgets open (1000)"
    )
    parser.add_argument("--active", type=int, default=100, help="of them, sending")
    parser.add_argument("--interval", type=float, default=5.0, help="s between messages")
    parser.add_argument("--duration", type=float, default=120.0, help="s of steady state")
    args = parser.parse_args()
    env = {"MATCHDAY_WIDGET_ORIGINS": ORIGIN}
    if args.sessions is not None:
        main_sessions(args, env)
        return
    with tempfile.TemporaryDirectory() as tmp, running_desk(Path(tmp), extra_env=env) as stack:
        result = asyncio.run(run(stack, args.messages, args.concurrency))
    result["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "widget.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def main_sessions(args: argparse.Namespace, env: dict[str, str]) -> None:
    if not 0 <= args.active <= args.sessions or args.sessions < 1:
        raise SystemExit("--sessions must be at least 1, --active between 0 and --sessions")
    with tempfile.TemporaryDirectory() as tmp, running_desk(Path(tmp), extra_env=env) as stack:
        raise_own_open_files_limit(args.sessions + 200)
        result = uvloop.run(sessions_run(stack, args))
        result["gateway"]["log_warnings"] = log_warnings(stack)
    k, m = result["sockets"], result["messages"]
    result["met"] = bool(
        result["sessions"]["opened"] == args.sessions
        and not k["dropped"]
        and m["unanswered"] == m["refused"] == m["acked_without_reply"] == 0
        and m["to_first_reply"]["p95_ms"] is not None
        and m["to_first_reply"]["p95_ms"] <= 1000
    )
    result["cpus"] = os.cpu_count()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "widget_sessions.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    )
    print_sessions(result)


if __name__ == "__main__":
    main()
