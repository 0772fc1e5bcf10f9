"""What each notice says: texts from data/notifications/notices.yml (English and
Chinese), filled from the ticketing database when the notice is sent (so a QR code
exchanged since the notice was queued is sent as it is now)."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import ROOT
from knowledge.language import Language
from ticketing.customers import lookup_customer
from ticketing.models import Fixture, Order, Ticket
from ticketing.tickets import TicketView, order_tickets, ticket_views

NOTICES_FILE = ROOT / "data" / "notifications" / "notices.yml"
TEXT_KEYS = {
    "order_confirmation": {"order_ref", "count", "match", "kickoff", "total"},
    "ticket_received": {"order_ref", "count", "match", "kickoff"},
    "ticket": {"number", "count", "seat", "order_ref"},
    "postponed": {"match", "kickoff", "tickets", "free_days"},
    "cancelled": {"match", "kickoff", "tickets", "refunded"},
}
MATCHDAY_FIELDS = {"match", "kickoff", "seats", "gate", "gates_open"}
_ZH_WEEKDAYS = "一二三四五六日"


class NoticesError(ValueError):
    """notices.yml is wrong; the message names the file and the field."""


@dataclass(frozen=True)
class MatchdayPack:
    """When the pack goes out, and what it says."""

    send_hours_before: float
    gates_open_minutes: int
    gates: dict[str, dict[str, str]]
    sections: dict[str, dict[str, str]]
    text: dict[str, str]

    def gate_for(self, section: str, language: Language) -> str:
        """The gate serving a section (its own entry, else its stand's)."""
        entry = self.sections.get(section) or self.gates.get(section[:1])
        return entry[language] if entry else ""


@dataclass(frozen=True)
class NoticeTexts:
    """Every notice text, validated."""

    texts: dict[str, dict[str, str]]
    matchday: MatchdayPack

    def text(self, key: str, language: Language, **values: Any) -> str:
        return self.texts[key][language].format(**values)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _bilingual(path: Path, where: str, value: Any, allowed: set[str] | None) -> dict[str, str]:
    if not isinstance(value, dict):
        raise NoticesError(f"{path}: {where}: expected en and zh texts")
    out: dict[str, str] = {}
    for language in ("en", "zh"):
        text = value.get(language)
        if not isinstance(text, str) or not text.strip():
            raise NoticesError(f"{path}: {where}.{language}: missing or empty")
        if allowed is not None and (unknown := _placeholders(text) - allowed):
            raise NoticesError(
                f"{path}: {where}.{language}: unknown placeholder(s) {sorted(unknown)}; "
                f"use {sorted(allowed)}"
            )
        out[language] = text
    return out


def load_notice_texts(path: Path = NOTICES_FILE) -> NoticeTexts:
    """Read and check notices.yml; raises `NoticesError` naming the file and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise NoticesError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise NoticesError(f"{path}: expected a mapping")
    texts = {
        key: _bilingual(path, key, raw.get(key), allowed) for key, allowed in TEXT_KEYS.items()
    }
    pack = raw.get("matchday")
    if not isinstance(pack, dict):
        raise NoticesError(f"{path}: matchday: missing")
    hours, minutes = pack.get("send_hours_before"), pack.get("gates_open_minutes")
    if not isinstance(hours, int | float) or not 0 < hours <= 24 * 7:
        raise NoticesError(f"{path}: matchday.send_hours_before: a number of hours, 1-168")
    if not isinstance(minutes, int) or not 0 < minutes <= 600:
        raise NoticesError(f"{path}: matchday.gates_open_minutes: minutes, 1-600")
    gates = {
        str(k): _bilingual(path, f"matchday.gates.{k}", v, set())
        for k, v in (pack.get("gates") or {}).items()
    }
    if not gates:
        raise NoticesError(f"{path}: matchday.gates: at least one stand")
    sections = {
        str(k): _bilingual(path, f"matchday.sections.{k}", v, set())
        for k, v in (pack.get("sections") or {}).items()
    }
    text = _bilingual(path, "matchday.text", pack.get("text"), MATCHDAY_FIELDS)
    return NoticeTexts(texts, MatchdayPack(float(hours), minutes, gates, sections, text))


@lru_cache(maxsize=1)
def default_notice_texts() -> NoticeTexts:
    """data/notifications/notices.yml (read once)."""
    return load_notice_texts()


# --- filling the texts ---------------------------------------------------------------------


@dataclass(frozen=True)
class TicketImage:
    """A QR e-ticket to attach: the ticket, its code version, and its caption."""

    ticket_id: int
    version: int
    caption: str


@dataclass(frozen=True)
class Rendered:
    """A notice ready to send: one text, then the QR tickets (if any)."""

    text: str
    tickets: list[TicketImage] = field(default_factory=list)


def money(amount: int, currency: str) -> str:
    """Minor units as fans read them (¥1,700)."""
    symbol = "¥" if currency == "CNY" else f"{currency} "
    whole, cents = divmod(amount, 100)
    return f"{symbol}{whole:,}" if cents == 0 else f"{symbol}{whole:,}.{cents:02d}"


def kickoff_text(kickoff: datetime, timezone: str, language: Language) -> str:
    """A kick-off time in the club's local time."""
    local = kickoff.astimezone(ZoneInfo(timezone))
    if language == "zh":
        return f"{local.month}月{local.day}日（周{_ZH_WEEKDAYS[local.weekday()]}）{local:%H:%M}"
    return f"{local:%a %-d %b, %H:%M}"


def match_text(fixture: Fixture, language: Language) -> str:
    if language == "zh":
        return f"{fixture.home_team.name_zh} vs {fixture.away_team.name_zh}"
    return f"{fixture.home_team.name_en} v {fixture.away_team.name_en}"


class NoticeNotApplicable(Exception):
    """Nothing to say any more (e.g. the order was refunded before the notice went out)."""


def render(
    session: Session,
    texts: NoticeTexts,
    kind: str,
    customer: str,
    payload: dict[str, Any],
    language: Language,
) -> Rendered:
    """The notice's text and tickets in `language`, as of now."""
    if kind == "order_confirmation":
        return _order(session, texts, str(payload["order_ref"]), language)
    fixture = session.get(Fixture, int(payload["fixture_id"]))
    if fixture is None:
        raise NoticeNotApplicable(f"no fixture {payload['fixture_id']}")
    tz = fixture.venue.timezone
    match = match_text(fixture, language)
    if kind == "postponed":
        when = datetime.fromisoformat(str(payload["kickoff"]))
        return Rendered(
            texts.text(
                "postponed",
                language,
                match=match,
                kickoff=kickoff_text(when, tz, language),
                tickets=payload.get("tickets", 1),
                free_days=payload.get("free_days", 0),
            )
        )
    if kind == "cancelled":
        return Rendered(
            texts.text(
                "cancelled",
                language,
                match=match,
                kickoff=kickoff_text(fixture.kickoff, tz, language),
                tickets=payload.get("tickets", 1),
                refunded=money(int(payload.get("refunded", 0)), fixture.currency),
            )
        )
    if kind == "matchday":
        return _matchday(session, texts, fixture, customer, language)
    raise NoticeNotApplicable(f"unknown notice kind {kind!r}")


def _order(session: Session, texts: NoticeTexts, ref: str, language: Language) -> Rendered:
    order = session.scalar(select(Order).where(Order.ref == ref))
    if order is None or order.paid_at is None:
        raise NoticeNotApplicable(f"order {ref} is not paid")
    live = [t for t in order_tickets(session, order.id) if t.status in ("valid", "used")]
    if not live:
        raise NoticeNotApplicable(f"order {ref} has no live tickets")
    fixture = session.get(Fixture, order.fixture_id)
    assert fixture is not None
    # A ticket passed on by another fan is confirmed as received: its holder paid nothing.
    text = texts.text(
        "ticket_received" if order.origin == "transfer" else "order_confirmation",
        language,
        order_ref=ref,
        count=len(live),
        match=match_text(fixture, language),
        kickoff=kickoff_text(fixture.kickoff, fixture.venue.timezone, language),
        total=money(order.total, order.currency),
    )
    return Rendered(text, _images(texts, live, language))


def _images(texts: NoticeTexts, live: list[TicketView], language: Language) -> list[TicketImage]:
    return [
        TicketImage(
            t.id,
            t.version,
            texts.text(
                "ticket",
                language,
                number=i,
                count=len(live),
                seat=t.seat.label,
                order_ref=t.order_ref,
            ),
        )
        for i, t in enumerate(live, start=1)
    ]


def _matchday(
    session: Session, texts: NoticeTexts, fixture: Fixture, customer: str, language: Language
) -> Rendered:
    holder = lookup_customer(session, customer)
    ids = (
        list(
            session.scalars(
                select(Ticket.id).where(
                    Ticket.fixture_id == fixture.id,
                    Ticket.holder_id == holder,
                    Ticket.status == "valid",
                )
            )
        )
        if holder is not None
        else []
    )
    live = ticket_views(session, ids)
    if not live:
        raise NoticeNotApplicable(f"{customer} holds no valid ticket for fixture {fixture.id}")
    pack = texts.matchday
    tz = fixture.venue.timezone
    gates = list(dict.fromkeys(pack.gate_for(t.seat.section, language) for t in live))
    opens = (fixture.kickoff - timedelta(minutes=pack.gates_open_minutes)).astimezone(ZoneInfo(tz))
    text = pack.text[language].format(
        match=match_text(fixture, language),
        kickoff=kickoff_text(fixture.kickoff, tz, language),
        seats=", ".join(t.seat.label for t in live),
        gate="; ".join(g for g in gates if g) or "-",
        gates_open=f"{opens:%H:%M}",
    )
    # Text only: the fan already has the QR codes (order confirmation or the chat).
    return Rendered(text)
