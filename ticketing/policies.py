"""The club's selling, risk and fee rules, read from `policies.yml` in the club's data
folder (the setting `MATCHDAY_DATA_DIR`, by default `data/demo/`).

Rules are data: a club changes its hold time, purchase cap or fee formula by
editing the file, not the code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.loading import DataFileError, load_model
from core.settings import get_settings
from ticketing.errors import PolicyError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HoldRules(_Strict):
    """How long seats stay held while a fan pays."""

    minutes: float = Field(10, gt=0, le=120)


class Limits(_Strict):
    """Per-order and per-fan limits, and the hold rate limit."""

    per_order: int = Field(6, ge=1, le=50)
    per_fan_per_fixture: int = Field(6, ge=1, le=1000)
    holds_per_window: int = Field(10, ge=1)
    window_seconds: int = Field(60, ge=1)


class Budgets(_Strict):
    """Caps on holds that do not depend on who the fan says they are.

    A widget session is a new fan each time, so the per-fan cap alone can be cycled
    around; these count by what asked: the client's address (all fans behind it), the
    page's origin, and, where a key has its own budget, the server-to-server key. Many
    fans share an address (a household, a pub's wifi, a mobile network), so the
    address caps are a few fans' worth, not one. None: no cap.
    """

    window_seconds: int = Field(600, ge=1, le=86_400)
    holds_per_address: int | None = Field(30, ge=1)
    seats_open_per_address_per_fixture: int | None = Field(12, ge=1)
    holds_per_origin: int | None = Field(None, ge=1)


class SaleWindows(_Strict):
    """When members' presale and general sale open, and when online sales close."""

    presale_days: float = Field(21, ge=0)
    general_days: float = Field(14, ge=0)
    close_hours: float = Field(1, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SaleWindows:
        if self.presale_days < self.general_days:
            raise ValueError("presale_days must not be less than general_days")
        return self


class MemberDiscount(_Strict):
    """The members' discount and the categories it applies to."""

    percent: int = Field(10, ge=0, le=100)
    categories: list[str] = ["cat1", "cat2", "cat3"]


class Membership(_Strict):
    """The club's membership: one kind, per fan, per season, and never needed to buy.

    Its presale is `SaleWindows.presale_days` and its discount `MemberDiscount`.
    """

    price: int = Field(299, ge=0)  # yuan per season
    auto_renew: bool = False
    refund_days: float = Field(14, ge=0)  # full refund while no member benefit was used
    away_priority: bool = True


class GateRules(_Strict):
    """How the gate treats a scanner's retry.

    A scan repeated with the same nonce from the same gate within `nonce_window_seconds`
    of the check-in gets the same `ok` back (a scanner that lost the answer); from
    another gate, or later, it is a new scan, and the ticket has been used.
    """

    nonce_window_seconds: int = Field(120, ge=0, le=3600)


class Offers(_Strict):
    """Ways of selling tickets that clubs use and this one may not (False: not offered)."""

    box_office: bool = False  # tickets sold at the ground
    season_tickets: bool = False
    ballot: bool = False  # a ballot or priority points for scarce matches


class ResaleRules(_Strict):
    """How a ticket may change hands: only by the club's transfer (see `FeeRules`)."""

    marketplace: bool = False  # an official resale or ticket-exchange listing
    above_face_value: bool = False


class FeeRules(_Strict):
    """The refund/exchange/transfer fee formula (see policies.yml for the words)."""

    base_percent: float = Field(5, ge=0, le=100)
    sell_through_percent: float = Field(15, ge=0, le=100)
    late_hours: float = Field(48, ge=0)
    late_percent: float = Field(5, ge=0, le=100)
    max_percent: float = Field(25, ge=0, le=100)
    transfer_share: float = Field(0.5, ge=0, le=1)
    cutoff_hours: float = Field(2, ge=0)
    postponed_free_days: float = Field(14, ge=0)
    quote_minutes: float = Field(10, gt=0)


class Policies(_Strict):
    """Every rule the engine applies, in one validated object."""

    holds: HoldRules = HoldRules()
    limits: Limits = Limits()
    budgets: Budgets = Budgets()
    sales: SaleWindows = SaleWindows()
    concessions: dict[str, int] = {
        "adult": 0,
        "child": 50,
        "senior": 30,
        "student": 20,
        "disabled": 50,
        "companion": 100,
    }
    member_discount: MemberDiscount = MemberDiscount()
    fees: FeeRules = FeeRules()
    membership: Membership = Membership()
    offers: Offers = Offers()
    resale: ResaleRules = ResaleRules()
    gate: GateRules = GateRules()

    @model_validator(mode="after")
    def _concessions(self) -> Policies:
        if "adult" not in self.concessions:
            raise ValueError("concessions must include adult")
        for name, percent in self.concessions.items():
            if not 0 < len(name.encode("utf-8")) <= 16:  # it is signed into every ticket's code
                raise ValueError(f"concessions.{name}: a name of 1-16 bytes")
            if not 0 <= percent <= 100:
                raise ValueError(f"concessions.{name} must be between 0 and 100")
        return self

    def replace(self, **sections: Any) -> Policies:
        """A copy with some sections replaced, e.g. `replace(limits={"per_order": 2})`."""
        data = self.model_dump()
        for name, value in sections.items():
            data[name] = {**data[name], **value} if isinstance(value, dict) else value
        return Policies.model_validate(data)


def load_policies(path: Path) -> Policies:
    """Read and validate a policy file; errors name the file and the field."""
    try:
        return load_model(path, Policies, default={})
    except DataFileError as exc:
        raise PolicyError(str(exc), field=exc.field) from exc


@lru_cache(maxsize=8)
def _cached(path: str) -> Policies:
    return load_policies(Path(path))


def current_policies() -> Policies:
    """The policies in force: the data folder's `policies.yml`, or the file
    `$MATCHDAY_POLICIES` names (read once)."""
    settings = get_settings()
    return _cached(str(settings.policies_file or settings.data_dir / "policies.yml"))
