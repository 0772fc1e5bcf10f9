"""Seating: a stadium's stands, sections, rows and seats, built from a layout file.

`data/demo/stadium.yml` describes the ground compactly (regular sections are
rows x seats, accessible platforms pair wheelchair spaces with companion seats);
`build_venue()` turns it into rows of the database in a few bulk statements.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.loading import DataFileError, load_model
from ticketing.errors import DemoDataError
from ticketing.models import Seat, SeatRow, Section, Stand

ROW_LABELS = string.ascii_uppercase  # A is the front row


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SectionSpec(_Strict):
    """One section of the layout file."""

    code: str = Field(min_length=1, max_length=16)
    category: str
    zone: Literal["general", "family", "away", "accessible"] = "general"
    covered: bool = False
    rank: int = 100
    view_note: str = ""
    rows: int | None = Field(None, ge=1, le=26)
    seats_per_row: int | None = Field(None, ge=1, le=200)
    wheelchair_spaces: int | None = Field(None, ge=1, le=200)
    row_notes: dict[str, str] = {}
    easy_access_rows: list[str] = []


class StandSpec(_Strict):
    """One stand and its sections."""

    code: str
    name_en: str
    name_zh: str
    sections: list[SectionSpec] = Field(min_length=1)


class RegularLayout(_Strict):
    """Rows and seats of a regular section unless it says otherwise."""

    rows: int = Field(25, ge=1, le=26)
    seats_per_row: int = Field(40, ge=1, le=200)


class StadiumSpec(_Strict):
    """The whole layout file."""

    venue: str
    address: str | None = None
    regular: RegularLayout = RegularLayout()
    stands: list[StandSpec] = Field(min_length=1)


def read_stadium(path: Path) -> StadiumSpec:
    """Parse and validate a layout file; errors name the file and the field."""
    try:
        spec = load_model(path, StadiumSpec)
    except DataFileError as exc:
        raise DemoDataError(str(exc), field=exc.field) from exc
    codes = [s.code for stand in spec.stands for s in stand.sections]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise DemoDataError(f"{path}: stands: duplicate section codes {duplicates}")
    return spec


@dataclass(frozen=True)
class _SeatPlan:
    row: str
    row_position: int
    number: int
    kind: str
    quality: int = 0


def _plan(section: SectionSpec, regular: RegularLayout) -> list[_SeatPlan]:
    if section.wheelchair_spaces:
        # One platform row: odd numbers are wheelchair spaces, each followed by its companion.
        return [
            _SeatPlan("P", 1, n, "wheelchair" if n % 2 else "companion", n)
            for n in range(1, 2 * section.wheelchair_spaces + 1)
        ]
    rows = section.rows or regular.rows
    per_row = section.seats_per_row or regular.seats_per_row
    plan: list[_SeatPlan] = []
    for position in range(1, rows + 1):
        label = ROW_LABELS[position - 1]
        kind = "easy_access" if label in section.easy_access_rows else "standard"
        plan.extend(
            _SeatPlan(label, position, n, kind, seat_quality(position, n, rows, per_row))
            for n in range(1, per_row + 1)
        )
    return plan


def seat_quality(row_position: int, number: int, rows: int, per_row: int) -> int:
    """A seat's view score within its section, lower is better.

    The best rows are about a third of the way back; the centre of a row beats its
    ends. A row away from the ideal costs as much as four seats off-centre.
    """
    ideal_row = max(1, round(rows * 0.35))
    centre2 = per_row + 1  # twice the centre, to stay in integers
    return 8 * abs(row_position - ideal_row) + abs(2 * number - centre2)


def build_venue(session: Session, spec: StadiumSpec) -> int:
    """Insert the stands, sections, rows and seats of `spec`; returns the number of seats."""
    total = 0
    for stand_spec in spec.stands:
        stand = Stand(
            venue_id=spec.venue,
            code=stand_spec.code,
            name_en=stand_spec.name_en,
            name_zh=stand_spec.name_zh,
        )
        session.add(stand)
        session.flush()
        for section_spec in stand_spec.sections:
            plan = _plan(section_spec, spec.regular)
            section = Section(
                venue_id=spec.venue,
                stand_id=stand.id,
                code=section_spec.code,
                category=section_spec.category,
                zone=section_spec.zone,
                accessible=section_spec.zone == "accessible",
                covered=section_spec.covered,
                view_note=section_spec.view_note,
                rank=section_spec.rank,
                capacity=len(plan),
            )
            session.add(section)
            session.flush()
            labels = sorted({(p.row_position, p.row) for p in plan})
            session.execute(
                insert(SeatRow),
                [
                    {
                        "section_id": section.id,
                        "label": label,
                        "position": position,
                        "note": section_spec.row_notes.get(label, ""),
                    }
                    for position, label in labels
                ],
            )
            row_ids: dict[str, int] = {
                label: row_id
                for label, row_id in session.execute(
                    select(SeatRow.label, SeatRow.id).where(SeatRow.section_id == section.id)
                ).tuples()
            }
            session.execute(
                insert(Seat),
                [
                    {
                        "section_id": section.id,
                        "row_id": row_ids[p.row],
                        "row": p.row,
                        "row_position": p.row_position,
                        "number": p.number,
                        "kind": p.kind,
                        "quality": p.quality,
                    }
                    for p in plan
                ],
            )
            total += len(plan)
    return total


@dataclass(frozen=True)
class SectionInfo:
    """What never changes about a section once the ground is built."""

    id: int
    code: str
    stand_id: int
    stand_en: str
    stand_zh: str
    category: str
    zone: str
    rank: int
    capacity: int


_sections_cache: dict[tuple[str, str], list[SectionInfo]] = {}


def venue_sections(session: Session, venue_id: str) -> list[SectionInfo]:
    """The sections of a ground (read once per process: layouts do not change while selling)."""
    key = (str(getattr(session.get_bind(), "url", "")), venue_id)
    cached = _sections_cache.get(key)
    if cached is None:
        rows = session.execute(
            select(
                Section.id,
                Section.code,
                Section.stand_id,
                Stand.name_en,
                Stand.name_zh,
                Section.category,
                Section.zone,
                Section.rank,
                Section.capacity,
            )
            .join(Stand, Stand.id == Section.stand_id)
            .where(Section.venue_id == venue_id)
            .order_by(Section.id)
        ).tuples()
        cached = [SectionInfo(*row) for row in rows]
        if cached:
            _sections_cache[key] = cached
    return cached


def seat_label(section_code: str, row: str, number: int) -> str:
    """The printed name of a seat, e.g. `W3-F-17`."""
    return f"{section_code}-{row}-{number}"
