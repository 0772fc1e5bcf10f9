"""Simulated fans who type: do they get what they came for, without a needless agent?

Each fan has a goal (buy N tickets in a category for a match, refund, exchange, pass
on a ticket, verify an order bought elsewhere, ask a question and accept the answer,
reach a person) and a language. A fan sees only the desk's reply texts and button
titles, never payloads, trackers or slots, and always *types*: its words come from
templates written by people briefed with the goals only (bench/data/fans/*.yml), with
typos, traditional characters, long first messages, questions in between and changes
of mind. An agent is signed in, as on match day.

Whether a task was done is read from the ticketing engine through the REST API (an
order of the right size, category and match; a refund; an exchange into the right
match; a ticket received by the friend; an order linked to the chat), a person reached
from the conversation's status. A needless handoff is any escalation of a fan who did
not ask for a person.

    .venv/bin/python bench/fans.py [--templates dev|holdout|PATH] [--fans 320]
        [--seed 1] [--concurrency 4] [--languages en zh] [--url URL --api-key KEY]

Starts a throw-away desk (as `make run` does) unless --url is given; writes
bench/results/fans[-<templates>].json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.script import to_script, to_simplified  # noqa: E402
from tests.support.orders import buy  # noqa: E402
from ticketing.demo import read_club  # noqa: E402

TEMPLATES = ROOT / "bench" / "data" / "fans"
RESULTS = ROOT / "bench" / "results"
GOALS = ("buy", "refund", "exchange", "transfer", "verify", "faq", "human")
# Share of each goal among the fans (buying is what match day is about).
MIX = {
    "buy": 0.40,
    "refund": 0.10,
    "exchange": 0.10,
    "transfer": 0.10,
    "verify": 0.10,
    "faq": 0.12,
    "human": 0.08,
}
MAX_TURNS = 14
AGENT = "fansbench"
AGENT_PASSWORD = "fans bench agent password 1"
CATEGORIES = {  # what the club's website calls them, by language
    "cat1": ("Category 1", "一类席", "1"),
    "cat2": ("Category 2", "二类席", "2"),
    "cat3": ("Category 3", "三类席", "3"),
    "premium": ("Premium", "贵宾席", ""),
    "family": ("Family", "家庭区", ""),
}
WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
}


# --- what a fan reads in the desk's replies --------------------------------------------

# The question a reply asks, recognised as a person reads it: by its words (both
# languages). The first that matches wins; order matters (specific before general).
CUES: list[tuple[str, tuple[str, ...]]] = [
    (
        "agent",
        (
            "passing you to a person",
            "no agent is online",
            "转接人工",
            "没有人工客服在线",
            "has joined the conversation",
            "已加入对话",
        ),
    ),
    ("verify_offer", ("verify it now", "现在验证吗")),
    ("offer_transfer", ("shall i pass a ticket on for you now", "要我现在帮你把票转给别人吗")),
    ("offer_exchange", ("shall i exchange your tickets now", "要我现在帮你换票吗")),
    ("code", ("6-digit code", "6 位验证码", "验证码是 6 位", "验证码不对", "code isn't right")),
    ("email", ("what's the e-mail address used", "购票时用的邮箱是什么")),
    ("verify_ref", ("what's the order reference", "要验证的订单号")),
    ("transfer_to", ("who should get it", "转给谁")),
    ("transfer_ticket", ("which ticket would you like to pass on", "要转让哪一张")),
    ("change_tickets", ("all the tickets of this order", "换全部的票")),
    ("change_order", ("which order's tickets", "要换哪一个订单")),
    ("order_ref", ("which order would you like to refund", "要退哪一个订单")),
    ("confirm", ("shall i go ahead", "确认退票吗", "确认更换吗", "确认转让吗")),
    ("pay", ("shall we pay", "现在付款", "pay now")),
    ("offer", ("shall i hold them", "要帮你锁定")),
    ("match", ("which match", "哪一场", "换到哪一场", "another match", "换一场")),
    ("category", ("where would you like to sit", "哪个区域", "another area", "换个区域")),
    ("quantity", ("how many tickets", "要几张")),
    ("clarify", ("did you mean", "is it about one of these", "你是想问", "是下面哪一类")),
    ("not_understood", ("didn't quite get", "没太明白", "put it another way", "换个说法")),
]


# The questions each goal expects; any other question means the desk misunderstood.
EXPECTED = {
    "buy": {"match", "category", "quantity", "offer", "pay"},
    "refund": {"order_ref", "confirm"},
    "exchange": {
        "change_order",
        "change_tickets",
        "match",
        "category",
        "confirm",
        "offer_exchange",
        "pay",
    },
    "transfer": {"transfer_ticket", "transfer_to", "confirm", "offer_transfer"},
    "verify": {"verify_offer", "verify_ref", "email", "code"},
    "faq": set(),
    "human": set(),
}


def asked(text: str) -> str | None:
    """What the desk's latest replies ask the fan, or None (an answer, a statement)."""
    lowered = to_simplified(text).casefold()  # the desk answers in the fan's script
    found = None
    best = -1
    for name, cues in CUES:
        for cue in cues:
            at = lowered.rfind(cue.casefold())
            if at > best:  # the question asked last is the one to answer
                best, found = at, name
    return found


# --- goals -----------------------------------------------------------------------------


@dataclass
class Goal:
    kind: str
    language: str
    fixture: dict[str, Any] | None = None  # the match to buy or exchange into
    category: str = "cat2"  # a key of CATEGORIES, or "cheapest" / "best"
    quantity: int = 2
    children: int = 0
    ref: str | None = None  # the fan's order (refund, exchange, transfer, verify)
    email: str | None = None
    recipient: str | None = None
    traditional: bool = False
    typos: bool = False
    long_opener: bool = False
    digression: bool = False
    correction: int | None = None  # a changed quantity, said at the offer
    seed: int = 0


@dataclass
class Result:
    goal: Goal
    conversation: str
    done: bool = False
    escalated: bool = False
    turns: int = 0
    transcript: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


class Templates:
    """The fans' words: bench/data/fans/templates_*.yml, one block per language."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))

    def lines(self, language: str, section: str, key: str | None = None) -> list[str]:
        block = self.data[language][section]
        found = block[key] if key is not None else block
        return [str(line) for line in found]


def _fill(line: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), line)


TYPO_WORDS = re.compile(r"(?<![{\w])[A-Za-z]{5,}(?![}\w])")


def _typo(text: str, rng: random.Random) -> str:
    words = list(TYPO_WORDS.finditer(text))
    if not words:
        return text
    word = rng.choice(words)
    w = word.group(0)
    i = rng.randrange(1, len(w) - 1)
    changed = w[:i] + w[i + 1 :] if rng.random() < 0.5 else w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    return text[: word.start()] + changed + text[word.end() :]


class Fan:
    """One simulated fan: types what its goal needs, reading the desk's replies."""

    def __init__(
        self, goal: Goal, templates: Templates, read_code: Callable[[], str] = lambda: ""
    ) -> None:
        self.goal = goal
        self.t = templates
        self.read_code = read_code  # the fan's mailbox: the verification code sent there
        self.rng = random.Random(goal.seed)
        self.digressed = False
        self.corrected = False
        self.said_children = False  # the desk asked how many, and the fan named a child
        self.pending: str | None = None  # the desk's latest question of this task
        self.repeated = False

    # values the templates may use
    def values(self) -> dict[str, str]:
        g, lang = self.goal, self.goal.language
        numbers = {int(k): str(v) for k, v in self.t.data[lang]["number_words"].items()}
        values = {
            "n": str(g.quantity),
            "n_word": numbers.get(g.quantity, str(g.quantity)),
            "adults": str(g.quantity - g.children),
            "children": str(g.children),
            "adults_word": numbers.get(g.quantity - g.children, ""),
            "children_word": numbers.get(g.children, ""),
            "ref": g.ref or "",
            "email": (g.recipient if g.kind == "transfer" else g.email) or "",
            "code": "",
        }
        if g.fixture is not None:
            away = g.fixture["away_zh"] if lang == "zh" else g.fixture["away"]
            values["team"] = away
            values["team_short"] = _short(away, lang)
            values["weekday"] = WEEKDAYS[lang][_weekday(g.fixture)]
        if g.category in CATEGORIES:
            en, zh, digit = CATEGORIES[g.category]
            values["category"] = zh if lang == "zh" else en
            values["category_num"] = digit
        return values

    def say(self, section: str, key: str | None = None, **extra: str) -> str:
        lines = self.t.lines(self.goal.language, section, key)
        values = {**self.values(), **extra}
        usable = [
            line
            for line in lines
            if all(values.get(name) for name in re.findall(r"\{(\w+)\}", line))
        ]
        line = self.rng.choice(usable or lines)
        if self.goal.typos and self.goal.language == "en" and self.rng.random() < 0.35:
            line = _typo(line, self.rng)  # in the fan's words, never in a reference or address
        text = _fill(line, values)
        if self.goal.traditional:
            text = to_script(text, "traditional")
        return text

    def opener(self) -> str:
        g = self.goal
        if g.kind == "buy":
            full = g.long_opener and g.category in CATEGORIES  # they name their seats
            return self.say("openers", "buy_full" if full else "buy")
        if g.kind == "faq":
            return self.say("faq")
        return self.say("openers", g.kind)

    def answer(self, text: str, buttons: list[str]) -> str:
        """The fan's next message, given the desk's latest replies."""
        g = self.goal
        question = asked(text)
        if question not in EXPECTED[g.kind] and question not in (None, "clarify", "not_understood"):
            question = "misunderstood"  # asked something of another task: say it again
        if question is None and self.pending and not self.repeated:
            # An answer to the fan's question in between: back to what was being asked.
            question, self.repeated = self.pending, True
        elif question in EXPECTED[g.kind]:
            self.pending, self.repeated = question, False
        in_form = question in {"match", "category", "quantity", "offer", "pay"}
        if g.digression and in_form and not self.digressed and self.rng.random() < 0.5:
            self.digressed = True
            return self.say("digressions")
        if question == "match":
            return self._match(buttons)
        if question == "category":
            return self._category()
        if question == "quantity":
            if g.children:
                self.said_children = True
                return self.say("answers", "quantity_concession")
            return self.say("answers", "quantity")
        if question == "offer":
            if g.correction and not self.corrected:
                self.corrected = True
                g.quantity, g.children = g.correction, 0
                return self.say("answers", "correction_quantity")
            return self.say("answers", "accept_seats")
        if question == "pay":
            return self.say("answers", "pay")
        if question in ("order_ref", "change_order", "verify_ref"):
            return self.say("answers", "order_ref")
        if question in ("verify_offer", "offer_transfer", "offer_exchange"):
            return self.say("answers", "confirm")
        if question == "email":
            return self.say("answers", "email")
        if question == "code":
            code = self.read_code()
            return self.say("answers", "code", code=code) if code else "?"
        if question == "transfer_ticket":  # seats as buttons: by position or by seat
            ordinals = self.t.data[g.language]["ordinals"]
            if buttons and self.rng.random() < 0.5:
                return buttons[0].split(" ")[0]
            return self.say("answers", "match_ordinal", ordinal=str(ordinals[0]))
        if question == "change_tickets":
            return self.say("answers", "all_tickets")
        if question == "transfer_to":
            return self.say("answers", "recipient")
        if question == "confirm":
            return self.say("answers", "confirm")
        if g.kind == "faq" and question is None:
            return self.say("answers", "thanks")
        # Not understood, a clarifying question, or an answer that is not what the fan
        # wanted: say it again in other words.
        if g.kind == "faq":
            return self.say("faq")
        opener = self.opener()
        if self.rng.random() < 0.5:
            return f"{self.say('answers', 'rephrase')} {opener}"
        return opener

    def _match(self, buttons: list[str]) -> str:
        g = self.goal
        assert g.fixture is not None
        away = g.fixture["away_zh"] if g.language == "zh" else g.fixture["away"]
        position = next((i for i, b in enumerate(buttons) if away in b), None)
        roll = self.rng.random()
        ordinals = self.t.data[g.language]["ordinals"]
        if position is not None and position < len(ordinals) and roll < 0.25:
            return self.say("answers", "match_ordinal", ordinal=str(ordinals[position]))
        same_day = [b for b in buttons if WEEKDAYS[g.language][_weekday(g.fixture)] in b]
        if position is not None and roll < 0.4 and len(same_day) <= 1:
            return self.say("answers", "match_day")
        return self.say("answers", "match")

    def _category(self) -> str:
        g = self.goal
        if g.category == "cheapest":
            return self.say("answers", "cheapest")
        if g.category == "best":
            return self.say("answers", "best")
        if CATEGORIES[g.category][2] and self.rng.random() < 0.3:
            return self.say("answers", "category_short")
        return self.say("answers", "category")


def _short(name: str, language: str) -> str:
    return name if language == "zh" else name.split()[0]


CLUB_ZONE = ZoneInfo(read_club().venue.timezone)  # the weekday fans see on the site


def _weekday(fixture: dict[str, Any]) -> int:
    kickoff = datetime.fromisoformat(fixture["kickoff"].replace("Z", "+00:00"))
    return kickoff.astimezone(CLUB_ZONE).weekday()


def make_goals(
    count: int, languages: list[str], fixtures: list[dict[str, Any]], seed: int
) -> list[Goal]:
    """`count` goals, split over the languages and the goal mix, reproducibly."""
    rng = random.Random(seed)
    goals: list[Goal] = []
    kinds = [k for k, share in MIX.items() for _ in range(round(share * 100))]
    for i in range(count):
        language = languages[i % len(languages)]
        kind = (
            kinds[(i // len(languages) * 37) % len(kinds)]
            if count > 20
            else GOALS[(i // len(languages)) % len(GOALS)]
        )
        fixture = rng.choice(fixtures[:6])
        category = rng.choice(
            ["cat1", "cat2", "cat2", "cat3", "premium", "family", "cheapest", "best"]
        )
        quantity = rng.choice([1, 2, 2, 2, 3, 4, 5])
        children = rng.choice([0, 0, 0, 1]) if quantity >= 2 and kind == "buy" else 0
        goal = Goal(
            kind=kind,
            language=language,
            fixture=fixture,
            category=category,
            quantity=quantity,
            children=children,
            traditional=language == "zh" and rng.random() < 0.3,
            typos=language == "en" and rng.random() < 0.3,
            long_opener=rng.random() < 0.3,
            digression=rng.random() < 0.25,
            correction=rng.choice([2, 3, 4]) if rng.random() < 0.15 else None,
            seed=seed * 100_003 + i,
        )
        if goal.correction == goal.quantity:
            goal.correction = None
        goals.append(goal)
    return goals


# --- the desk --------------------------------------------------------------------------


class Desk:
    """The desk's HTTP API as the bench uses it: chat, and the engine for seeding/judging."""

    def __init__(self, base_url: str, api_key: str, env: dict[str, str] | None = None) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.env = env

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers, timeout=120)

    def fixtures(self) -> list[dict[str, Any]]:
        with self.client() as c:
            rows: list[dict[str, Any]] = c.get("/api/v1/fixtures").json()
        return [f for f in rows if f["sale"] == "on_sale" and f["available"] > 50]

    def buy(self, customer: str, fixture_id: int, quantity: int) -> dict[str, Any]:
        with self.client() as c:
            return buy(c, customer, fixture_id, quantity)

    def orders(self, customer: str) -> list[dict[str, Any]]:
        with self.client() as c:
            rows: list[dict[str, Any]] = c.get(
                "/api/v1/orders", params={"customer": customer}
            ).json()
            return rows

    def order_status(self, customer: str, ref: str) -> int:
        with self.client() as c:
            return c.get(f"/api/v1/orders/{ref}", params={"customer": customer}).status_code

    def categories(self, fixture_id: int) -> dict[str, str]:
        with self.client() as c:
            rows = c.get(f"/api/v1/fixtures/{fixture_id}/sections").json()
        return {r["name"]: r["category"] for r in rows}

    def mail_code(self, address: str) -> str:
        result = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "desk"), "mail", "--to", address, "--json"],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        for mail in json.loads(result.stdout):
            found = re.search(r"\b(\d{6})\b", mail["body"])
            if found:
                return found.group(1)
        return ""


@contextmanager
def agent_online(desk: Desk) -> Iterator[None]:
    """An agent signed in (the console's session) and active, as on match day."""
    subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "desk"),
            "users",
            "create",
            "--username",
            AGENT,
            "--role",
            "agent",
            "--name",
            "Sam",
        ],
        input=AGENT_PASSWORD + "\n",
        env=desk.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )  # fmt: skip  (already there on a second run: then the sign-in below still works)
    with httpx.Client(base_url=desk.base_url, timeout=30) as c:
        response = c.post(
            "/api/v1/agent/session", json={"username": AGENT, "password": AGENT_PASSWORD}
        )
        response.raise_for_status()
        token = response.json()["token"]
    stop = threading.Event()

    def keep_active() -> None:
        with httpx.Client(
            base_url=desk.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as c:
            while not stop.is_set():
                c.get("/api/v1/agent/queue")
                stop.wait(20)

    thread = threading.Thread(target=keep_active, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def judge(
    desk: Desk,
    goal: Goal,
    customer: str,
    seeded: dict[str, Any] | None,
    said_children: bool = False,
) -> bool:
    """Was the task done? Read from the engine, never from the bot's words."""
    if goal.kind == "buy":
        assert goal.fixture is not None
        for order in desk.orders(customer):
            live = [t for t in order["tickets"] if t["status"] == "valid"]
            if order["status"] != "paid" or order["fixture_id"] != goal.fixture["id"]:
                continue
            if len(live) != goal.quantity:
                continue
            if goal.category in CATEGORIES:
                names = desk.categories(goal.fixture["id"])
                if any(names.get(t["seat"]["section"]) != goal.category for t in live):
                    continue
            if said_children and sum(t["concession"] == "child" for t in live) != goal.children:
                continue
            return True
        return False
    if goal.kind == "refund":
        assert seeded is not None
        return any(
            o["order_id"] == seeded["order_id"] and o["status"] == "refunded"
            for o in desk.orders(customer)
        )
    if goal.kind == "exchange":
        assert goal.fixture is not None
        return any(
            o["origin"] == "exchange" and o["fixture_id"] == goal.fixture["id"]
            for o in desk.orders(customer)
        )
    if goal.kind == "transfer":
        return bool(desk.orders(f"email:{goal.recipient}"))
    if goal.kind == "verify":
        assert goal.ref is not None
        return desk.order_status(customer, goal.ref) == 200
    return False  # faq and human: judged from the conversation


async def run_fan(
    desk: Desk, goal: Goal, templates: Templates, http: httpx.AsyncClient, tag: str
) -> Result:
    conversation = f"fan-{tag}-{goal.seed}"
    customer = f"api:{conversation}"
    result = Result(goal, conversation)
    seeded = None
    if goal.kind in ("refund", "exchange", "transfer"):
        source = goal.fixture if goal.kind != "exchange" else None
        fixtures = desk.fixtures()
        first = source or next(f for f in fixtures if f["id"] != goal.fixture["id"])  # type: ignore[index]
        seeded = await asyncio.to_thread(
            desk.buy, customer, first["id"], 2 if goal.kind == "transfer" else 1
        )
        goal.ref = seeded["order_id"]
        goal.recipient = f"friend-{goal.seed}@example.com"
    if goal.kind == "verify":
        goal.email = f"fan-{goal.seed}@example.com"
        seeded = await asyncio.to_thread(desk.buy, f"email:{goal.email}", goal.fixture["id"], 1)  # type: ignore[index]
        goal.ref = seeded["order_id"]
    fan = Fan(goal, templates, read_code=lambda: desk.mail_code(goal.email or ""))
    text = fan.opener()
    answered_faq = False
    for _ in range(MAX_TURNS):
        result.turns += 1
        result.transcript.append(("fan", text))
        response = await http.post(
            f"/api/v1/conversations/{conversation}/messages", json={"text": text}
        )
        if response.status_code != 200:
            result.note = f"HTTP {response.status_code}: {response.text[:200]}"
            break
        body = response.json()
        replies = body.get("replies") or []
        said = "\n".join(r.get("text") or "" for r in replies)
        buttons = [b["title"] for r in replies for b in r.get("buttons") or []]
        result.transcript.append(("desk", said + (f"  {buttons}" if buttons else "")))
        if body.get("status") in ("queued", "with_agent") or asked(said) == "agent":
            result.escalated = True
            result.done = goal.kind == "human"
            break
        engine_judged = goal.kind in ("buy", "refund", "exchange", "transfer", "verify")
        if engine_judged and await asyncio.to_thread(
            judge, desk, goal, customer, seeded, fan.said_children
        ):
            result.done = True
            break
        if goal.kind == "faq":
            question = asked(said)
            if question in (None, "offer_transfer", "offer_exchange") and said.strip():
                answered_faq = True  # an answer: the fan thanks and leaves
                result.done = True
                break
        text = await asyncio.to_thread(fan.answer, said, buttons)
    if goal.kind == "faq":
        result.done = answered_faq and not result.escalated
    return result


async def run_all(
    desk: Desk, goals: list[Goal], templates: Templates, concurrency: int, tag: str
) -> list[Result]:
    queue: asyncio.Queue[Goal] = asyncio.Queue()
    for goal in goals:
        queue.put_nowait(goal)
    results: list[Result] = []

    async def worker() -> None:
        async with httpx.AsyncClient(
            base_url=desk.base_url, headers=desk.headers, timeout=120
        ) as http:
            while not queue.empty():
                goal = queue.get_nowait()
                results.append(await run_fan(desk, goal, templates, http, tag))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sorted(results, key=lambda r: r.goal.seed)


def report(results: list[Result]) -> dict[str, Any]:
    """Per language and goal: tasks done, needless handoffs, turns per purchase."""
    table: dict[str, Any] = {}
    groups: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for r in results:
        groups[(r.goal.language, r.goal.kind)].append(r)
        groups[(r.goal.language, "all")].append(r)
    for (language, kind), rows in sorted(groups.items()):
        false = sum(1 for r in rows if r.escalated and r.goal.kind != "human")
        entry: dict[str, Any] = {
            "fans": len(rows),
            "done": sum(r.done for r in rows),
            "done_rate": round(sum(r.done for r in rows) / len(rows), 3),
            "false_escalations": false,
        }
        buys = [r.turns for r in rows if r.goal.kind == "buy" and r.done]
        if buys:
            entry["median_turns_per_purchase"] = statistics.median(buys)
        table.setdefault(language, {})[kind] = entry
    return table


def failures(results: list[Result]) -> list[dict[str, Any]]:
    return [
        {
            "conversation": r.conversation,
            "goal": r.goal.kind,
            "language": r.goal.language,
            "escalated": r.escalated,
            "note": r.note,
            "transcript": [f"{who}: {text}" for who, text in r.transcript],
        }
        for r in results
        if not r.done or (r.escalated and r.goal.kind != "human")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--templates", default="dev")
    parser.add_argument("--fans", type=int, default=320)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--languages", nargs="+", default=["en", "zh"])
    parser.add_argument("--url")
    parser.add_argument("--api-key")
    parser.add_argument("--out")
    args = parser.parse_args()
    path = Path(args.templates)
    if not path.exists():
        path = TEMPLATES / f"templates_{args.templates}.yml"
    templates = Templates(path)
    tag = uuid.uuid4().hex[:6]
    started = time.perf_counter()

    def go(desk: Desk) -> list[Result]:
        goals = make_goals(args.fans, args.languages, desk.fixtures(), args.seed)
        with agent_online(desk):
            print("desk ready; fans start", flush=True)
            return asyncio.run(run_all(desk, goals, templates, args.concurrency, tag))

    if args.url:
        results = go(Desk(args.url, args.api_key, None))
    else:
        from tests.support.stack import running_desk

        with running_desk(Path(tempfile.mkdtemp(prefix="bench-fans-"))) as stack:
            results = go(Desk(stack.base_url, stack.api_key, stack.env))
    summary = {
        "templates": path.name,
        "fans": len(results),
        "seconds": round(time.perf_counter() - started, 1),
        "by_language": report(results),
        "failures": failures(results),
    }
    RESULTS.mkdir(exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / f"fans-{args.templates}.json"
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for language, kinds in summary["by_language"].items():
        for kind, entry in kinds.items():
            print(language, kind, entry)
    print(f"wrote {out} ({Counter(r.done for r in results)[True]}/{len(results)} done)")


if __name__ == "__main__":
    main()
