"""Prices: categories, demand multipliers, concessions and the members' discount.

All money is integer minor units (fen). A fixture's adult prices are computed
once, when it is created (base price x demand multiplier, rounded to whole yuan),
and stored in `fixture_prices`; concessions and the members' discount apply per
ticket when seats are held.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.loading import DataFileError, load_model
from ticketing.errors import DemoDataError, InvalidRequest
from ticketing.models import PriceCategory
from ticketing.policies import Policies

MINOR_UNITS = 100  # fen per yuan


class CategorySpec(BaseModel):
    """A price category: names and the adult price at normal demand (in yuan)."""

    model_config = ConfigDict(extra="forbid")

    name_en: str
    name_zh: str
    price: int = Field(ge=0)


class PriceList(BaseModel):
    """The pricing file: currency, categories and demand multipliers."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    categories: dict[str, CategorySpec]
    demand_multipliers: dict[str, float]


def read_price_list(path: Path) -> PriceList:
    """Parse and validate a pricing file; errors name the file and the field."""
    try:
        return load_model(path, PriceList)
    except DataFileError as exc:
        raise DemoDataError(str(exc), field=exc.field) from exc


@dataclass(frozen=True)
class CategoryName:
    """A seating category's names (the loader stores them from the pricing file)."""

    name_en: str
    name_zh: str

    def name(self, language: str) -> str:
        """The name in `language` ("zh" or "en")."""
        return self.name_zh if language == "zh" else self.name_en


def category_names(session: Session) -> dict[str, CategoryName]:
    """The names of the club's seating categories, by category ("cat1": Category 1, 一类席)."""
    rows = session.execute(select(PriceCategory.id, PriceCategory.name_en, PriceCategory.name_zh))
    return {key: CategoryName(name_en, name_zh) for key, name_en, name_zh in rows}


def round_half_up(value: Fraction) -> int:
    """Round a non-negative amount to the nearest integer, halves up."""
    return int(value + Fraction(1, 2))


def fixture_prices(prices: PriceList, demand: str) -> dict[str, int]:
    """Adult price per category (fen) for a fixture of `demand`, rounded to whole yuan."""
    try:
        multiplier = Fraction(str(prices.demand_multipliers[demand]))
    except KeyError as exc:
        raise DemoDataError(f"unknown demand level {demand!r}", field="demand") from exc
    return {
        category: round_half_up(spec.price * multiplier) * MINOR_UNITS
        for category, spec in prices.categories.items()
    }


def ticket_price(
    adult_price: int, category: str, concession: str, *, member: bool, policies: Policies
) -> int:
    """The price of one ticket: the concession off the adult price, then the members' discount."""
    try:
        percent_off = policies.concessions[concession]
    except KeyError as exc:
        known = ", ".join(policies.concessions)
        raise InvalidRequest(
            f"unknown concession {concession!r} (known: {known})", field="concessions"
        ) from exc
    price = Fraction(adult_price * (100 - percent_off), 100)
    if member and category in policies.member_discount.categories:
        price = price * (100 - policies.member_discount.percent) / 100
    return round_half_up(price)


def check_concessions(concessions: list[str], policies: Policies) -> None:
    """A companion ticket needs a disabled fan's ticket in the same order (one each)."""
    for name in concessions:
        if name not in policies.concessions:
            known = ", ".join(policies.concessions)
            raise InvalidRequest(
                f"unknown concession {name!r} (known: {known})", field="concessions"
            )
    if concessions.count("companion") > concessions.count("disabled"):
        raise InvalidRequest(
            "a free companion ticket needs a disabled fan's ticket in the same order",
            field="concessions",
        )
