"""What each notice says: texts from the catalogue (`notices.*` in data/texts/), filled
from the ticketing database when the notice is sent (so a QR code exchanged since the
notice was queued is sent as it is now). When the match-day pack goes out is in
data/notifications/notices.yml."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.loading import DataFileError, load_model
from core.settings import ROOT
from core.texts import TEXTS_DIR, Catalogue, catalogue, placeholders
from knowledge.language import Language
from ticketing.customers import lookup_customer
from ticketing.models import Fixture, Order, Ticket
from ticketing.tickets import TicketView, order_tickets, ticket_views

NOTICES_FILE = ROOT / "data" / "notifications" / "notices.yml"
# The values each notice text may use (a text asking for another one fails at start-up).
PLACEHOLDERS = {
    "notices.order_confirmation": {"order_ref", "count", "match", "kickoff", "total"},
    "notices.ticket_received": {"order_ref", "count", "match", "kickoff"},
    "notices.ticket": {"number", "count", "seat", "order_ref"},
    "notices.postponed": {"match", "kickoff", "tickets", "free_days"},
    "notices.cancelled": {"match", "kickoff", "tickets", "refunded"},
    "notices.matchday": {"match", "kickoff", "seats", "gate", "gates_open"},
}
_ZH_WEEKDAYS = "一二三四五六日"


class NoticesError(DataFileError):
    """The notices' settings or texts are wrong; the message names the file and field."""


class _MatchdaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    send_hours_before: float = Field(gt=0, le=24 * 7)
    gates_open_minutes: int = Field(gt=0, le=600)


class _NoticesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    matchday: _MatchdaySettings


@dataclass(frozen=True)
class MatchdayPack:
    """When the pack goes out, and the gate serving each stand (and section), by language."""

    send_hours_before: float
    gates_open_minutes: int
    gates: dict[str, dict[str, str]]
    sections: dict[str, dict[str, str]]

    def gate_for(self, section: str, language: Language) -> str:
        """The gate serving a section (its own entry, else its stand's)."""
        entry = self.sections.get(section) or self.gates.get(section[:1])
        return entry.get(language, entry["en"]) if entry else ""


@dataclass(frozen=True)
class Notices:
    """The catalogue the notices are written from, and the match-day pack."""

    texts: Catalogue
    matchday: MatchdayPack


def _by_language(texts: Catalogue, area: str) -> dict[str, dict[str, str]]:
    """`area`'s texts by the rest of their key, each in every language."""
    found: dict[str, dict[str, str]] = {}
    for language in texts.languages:
        for name, value in texts.area(area, language).items():
            found.setdefault(name, {})[language] = value
    return found


def load_notices(path: Path = NOTICES_FILE, texts: Catalogue | None = None) -> Notices:
    """Read notices.yml and check the notice texts of the catalogue; raises
    `DataFileError` naming the file and the field (or the catalogue key)."""
    settings = load_model(path, _NoticesFile).matchday
    texts = texts or catalogue()
    for key, allowed in PLACEHOLDERS.items():
        for language in texts.languages:
            unknown = placeholders(texts.template(key, language)) - allowed
            if unknown:
                raise NoticesError(
                    TEXTS_DIR / f"{language}.yml",
                    f"{key}: unknown placeholder(s) {sorted(unknown)}; use {sorted(allowed)}",
                )
    gates = _by_language(texts, "notices.gates")
    if not gates:
        raise NoticesError(TEXTS_DIR / "en.yml", "notices.gates: at least one stand")
    pack = MatchdayPack(
        settings.send_hours_before,
        settings.gates_open_minutes,
        gates,
        _by_language(texts, "notices.sections"),
    )
    return Notices(texts, pack)


@lru_cache(maxsize=1)
def default_notices() -> Notices:
    """data/notifications/notices.yml and the desk's catalogue (read once)."""
    return load_notices()


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
    notices: Notices,
    kind: str,
    customer: str,
    payload: dict[str, Any],
    language: Language,
) -> Rendered:
    """The notice's text and tickets in `language`, as of now."""
    if kind == "order_confirmation":
        return _order(session, notices.texts, str(payload["order_ref"]), language)
    fixture = session.get(Fixture, int(payload["fixture_id"]))
    if fixture is None:
        raise NoticeNotApplicable(f"no fixture {payload['fixture_id']}")
    tz = fixture.venue.timezone
    match = match_text(fixture, language)
    if kind == "postponed":
        when = datetime.fromisoformat(str(payload["kickoff"]))
        return Rendered(
            notices.texts.text(
                "notices.postponed",
                language,
                match=match,
                kickoff=kickoff_text(when, tz, language),
                tickets=payload.get("tickets", 1),
                free_days=payload.get("free_days", 0),
            )
        )
    if kind == "cancelled":
        return Rendered(
            notices.texts.text(
                "notices.cancelled",
                language,
                match=match,
                kickoff=kickoff_text(fixture.kickoff, tz, language),
                tickets=payload.get("tickets", 1),
                refunded=money(int(payload.get("refunded", 0)), fixture.currency),
            )
        )
    if kind == "matchday":
        return _matchday(session, notices, fixture, customer, language)
    raise NoticeNotApplicable(f"unknown notice kind {kind!r}")


def _order(session: Session, texts: Catalogue, ref: str, language: Language) -> Rendered:
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
        "notices.ticket_received" if order.origin == "transfer" else "notices.order_confirmation",
        language,
        order_ref=ref,
        count=len(live),
        match=match_text(fixture, language),
        kickoff=kickoff_text(fixture.kickoff, fixture.venue.timezone, language),
        total=money(order.total, order.currency),
    )
    return Rendered(text, _images(texts, live, language))


def _images(texts: Catalogue, live: list[TicketView], language: Language) -> list[TicketImage]:
    return [
        TicketImage(
            t.id,
            t.version,
            texts.text(
                "notices.ticket",
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
    session: Session, notices: Notices, fixture: Fixture, customer: str, language: Language
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
    pack = notices.matchday
    tz = fixture.venue.timezone
    gates = list(dict.fromkeys(pack.gate_for(t.seat.section, language) for t in live))
    opens = (fixture.kickoff - timedelta(minutes=pack.gates_open_minutes)).astimezone(ZoneInfo(tz))
    text = notices.texts.text(
        "notices.matchday",
        language,
        match=match_text(fixture, language),
        kickoff=kickoff_text(fixture.kickoff, tz, language),
        seats=", ".join(t.seat.label for t in live),
        gate="; ".join(g for g in gates if g) or "-",
        gates_open=f"{opens:%H:%M}",
    )
    # Text only: the fan already has the QR codes (order confirmation or the chat).
    return Rendered(text)
