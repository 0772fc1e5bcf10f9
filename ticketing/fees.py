"""The refund, exchange and transfer fee, as configured in `policies.yml` (section `fees`).

    percent = base_percent
            + sell_through_percent x (seats sold / capacity)
            + late_percent            when kick-off is less than late_hours away
    percent = min(percent, max_percent)
    fee     = ticket price x percent / 100, rounded to the fen (halves up)

A transfer costs `transfer_share` of that fee; an exchange the full fee. Nothing
can be changed less than `cutoff_hours` before kick-off; a postponed match may be
refunded without a fee within `postponed_free_days` of the announcement, and a
cancelled one is refunded in full by the club (see `operations.cancel_fixture`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketing.errors import NotRefundable
from ticketing.models import Fixture, SeatClaim, Section
from ticketing.policies import Policies
from ticketing.pricing import round_half_up


@dataclass(frozen=True)
class FeeTerms:
    """The fee percentage for a fixture at a moment, with its parts for explanations."""

    percent: Fraction
    sell_through: Fraction
    late: bool
    waived: bool

    def fee(self, price: int, share: Fraction = Fraction(1)) -> int:
        """The fee on one ticket of `price` (minor units)."""
        if self.waived:
            return 0
        return round_half_up(price * self.percent * share / 100)


def sell_through(session: Session, fixture: Fixture) -> Fraction:
    """Share of the ground's seats sold or being paid for (0..1)."""
    capacity = session.scalar(
        select(func.sum(Section.capacity)).where(Section.venue_id == fixture.venue_id)
    )
    sold = session.scalar(
        select(func.count()).where(
            SeatClaim.fixture_id == fixture.id, SeatClaim.status.in_(("sold", "pending"))
        )
    )
    if not capacity:
        return Fraction(0)
    return min(Fraction(1), Fraction(int(sold or 0), int(capacity)))


def check_change_window(fixture: Fixture, now: datetime, policies: Policies) -> None:
    """Refuse refunds, exchanges and transfers too close to kick-off or for a cancelled match."""
    if fixture.status == "cancelled":
        raise NotRefundable(
            "this match was cancelled: every order is refunded in full automatically"
        )
    cutoff = fixture.kickoff - timedelta(hours=policies.fees.cutoff_hours)
    if now >= cutoff:
        raise NotRefundable(
            f"tickets can be refunded, exchanged or transferred until "
            f"{policies.fees.cutoff_hours:g} hours before kick-off"
        )


def fee_terms(
    session: Session, fixture: Fixture, now: datetime, policies: Policies, *, refund: bool
) -> FeeTerms:
    """The fee percentage for changing a ticket of `fixture` at `now`."""
    rules = policies.fees
    share = sell_through(session, fixture)
    late = fixture.kickoff - now < timedelta(hours=rules.late_hours)
    percent = Fraction(str(rules.base_percent)) + Fraction(str(rules.sell_through_percent)) * share
    if late:
        percent += Fraction(str(rules.late_percent))
    percent = min(percent, Fraction(str(rules.max_percent)))
    waived = (
        refund
        and fixture.status == "postponed"
        and fixture.status_changed_at is not None
        and now - fixture.status_changed_at <= timedelta(days=rules.postponed_free_days)
    )
    return FeeTerms(percent=percent, sell_through=share, late=late, waived=waived)


def transfer_share(policies: Policies) -> Fraction:
    """The part of the fee a transfer costs."""
    return Fraction(str(policies.fees.transfer_share))
