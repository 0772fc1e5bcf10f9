"""Holds: best available and chosen seats, expiry, limits, concessions."""

from __future__ import annotations

import threading
import weakref
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from core.clock import utcnow
from core.db import engine_of, write_session
from tests.support.metrics import sample
from tests.ticketing.conftest import Club
from ticketing.customers import resolve_customer, set_member
from ticketing.errors import (
    HoldExpired,
    InvalidQuantity,
    InvalidRequest,
    NotFound,
    PurchaseLimitReached,
    RateLimited,
    SaleClosed,
    SeatUnavailable,
    SoldOut,
)
from ticketing.fixtures import fixture_listings, seat_map
from ticketing.holds import create_hold, get_hold, release_expired_holds, release_hold
from ticketing.models import CustomerIdentity, Fixture, Hold
from ticketing.recommendations import FreeSeat
from ticketing.risk import refusal_counts


def test_best_available_seats_are_adjacent_in_the_best_section(club: Club) -> None:
    hold = create_hold(club.db, "tg:1", club.fixture, 3)
    assert [s.section for s in hold.seats] == ["A"] * 3
    assert len({s.row for s in hold.seats}) == 1
    numbers = sorted(s.number for s in hold.seats)
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert hold.total == sum(s.price for s in hold.seats) == 3 * 38000
    assert hold.expires_at - hold.created_at == timedelta(minutes=10)


def test_held_seats_are_not_available_to_others(club: Club) -> None:
    seats = [s.id for s in create_hold(club.db, "tg:1", club.fixture, 2).seats]
    with pytest.raises(SeatUnavailable):
        create_hold(club.db, "tg:2", club.fixture, seat_ids=seats)
    with club.db() as session:
        listing = fixture_listings(session)[0]
        statuses = {s.id: s.status for s in seat_map(session, club.fixture, club.sections["A"])}
    assert listing.available == listing.capacity - 2
    assert statuses[seats[0]] == "held"


def test_expired_holds_release_their_seats(club: Club) -> None:
    hold = create_hold(club.db, "tg:1", club.fixture, 2)
    later = club.now + timedelta(minutes=11)
    seat_ids = [s.id for s in hold.seats]
    taken = create_hold(club.db, "tg:2", club.fixture, seat_ids=seat_ids, now=later)
    assert [s.id for s in taken.seats] == seat_ids
    assert release_expired_holds(club.db, now=later + timedelta(minutes=11)) == 2


def test_released_hold_frees_seats_and_cannot_be_released_twice(lite: Club) -> None:
    hold = create_hold(lite.db, "tg:1", lite.fixture, 1)
    release_hold(lite.db, "tg:1", hold.id)
    create_hold(lite.db, "tg:2", lite.fixture, seat_ids=[hold.seats[0].id])
    with pytest.raises(HoldExpired):
        release_hold(lite.db, "tg:1", hold.id)


def test_another_fans_hold_is_not_found(lite: Club) -> None:
    hold = create_hold(lite.db, "tg:1", lite.fixture, 1)
    with lite.db() as session:
        assert get_hold(session, "tg:1", hold.id).id == hold.id
        with pytest.raises(NotFound):
            get_hold(session, "tg:2", hold.id)
        with pytest.raises(NotFound):
            get_hold(session, "tg:1", "HNOPE")


@pytest.mark.parametrize("quantity", [0, -1, 7, 10**12])
def test_quantity_out_of_range_is_refused(lite: Club, quantity: int) -> None:
    with pytest.raises(InvalidQuantity):
        create_hold(lite.db, "tg:1", lite.fixture, quantity)


def test_unknown_fixture_section_and_seat_are_not_found(club: Club) -> None:
    with pytest.raises(NotFound):
        create_hold(club.db, "tg:1", 999, 1)
    with pytest.raises(NotFound):
        create_hold(club.db, "tg:1", club.fixture, 1, section_id=999)
    with pytest.raises(NotFound):
        create_hold(club.db, "tg:1", club.fixture, seat_ids=[999_999])
    with pytest.raises(InvalidRequest):
        create_hold(club.db, "not an id", club.fixture, 1)
    with club.db() as session:  # none of those made the fan
        assert session.scalar(select(func.count()).select_from(CustomerIdentity)) == 0


def _set_fixture(club: Club, **values: object) -> None:
    with write_session(club.db) as session:
        session.execute(update(Fixture).where(Fixture.id == club.fixture).values(**values))


def test_a_new_fan_is_refused_by_a_cancellation_made_a_moment_ago(club: Club) -> None:
    create_hold(club.db, "tg:early", club.fixture, 1)  # this process now knows the fixture
    _set_fixture(club, status="cancelled")  # e.g. by the CLI, in another process
    with pytest.raises(SaleClosed, match="cancelled"):
        create_hold(club.db, "tg:late", club.fixture, 2)
    with club.db() as session:
        fans = session.scalar(select(func.count()).where(CustomerIdentity.external_id == "tg:late"))
        holds = session.scalar(select(func.count()).select_from(Hold))
    assert (fans, holds) == (0, 1)  # nothing was written for the refused fan


def test_a_new_fan_gets_a_sale_opened_a_moment_ago(club: Club) -> None:
    _set_fixture(club, general_sale_opens_at=club.now + timedelta(days=1))
    with pytest.raises(SaleClosed):
        create_hold(club.db, "tg:eager", club.fixture, 1)  # this process saw it closed
    _set_fixture(club, general_sale_opens_at=club.now - timedelta(minutes=1))
    hold = create_hold(club.db, "tg:eager", club.fixture, 1)  # opened early by the club
    assert hold.status == "active"


def test_a_fan_this_process_has_not_seen_is_still_held_to_the_cap(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ticketing.customers

    create_hold(club.db, "tg:regular", club.fixture, 6)
    # Another gateway process made the fan: this one has no memory of them.
    monkeypatch.setattr(ticketing.customers, "_cache", weakref.WeakKeyDictionary())
    with pytest.raises(PurchaseLimitReached):
        create_hold(club.db, "tg:regular", club.fixture, 1)
    with club.db() as session:
        fans = session.scalar(
            select(func.count()).where(CustomerIdentity.external_id == "tg:regular")
        )
    assert fans == 1


def test_purchase_cap_counts_holds_and_purchases(club: Club) -> None:
    create_hold(club.db, "tg:1", club.fixture, 4)
    with pytest.raises(PurchaseLimitReached) as refused:
        create_hold(club.db, "tg:1", club.fixture, 3)
    assert refused.value.already == 4
    create_hold(club.db, "tg:1", club.fixture, 2)
    create_hold(club.db, "tg:1", club.fixtures[1], 6)  # the cap is per fixture
    with club.db() as session:
        assert refusal_counts(session, club.fixture) == {"purchase_limit_reached": 1}


def test_hold_rate_limit_answers_when_to_retry(lite: Club) -> None:
    for _ in range(10):
        hold = create_hold(lite.db, "tg:1", lite.fixture, 1)
        release_hold(lite.db, "tg:1", hold.id)
    with pytest.raises(RateLimited) as refused:
        create_hold(lite.db, "tg:1", lite.fixture, 1)
    assert 1 <= refused.value.retry_after_s <= 60
    create_hold(lite.db, "tg:1", lite.fixture, 1, now=lite.now + timedelta(seconds=61))


def test_sold_out_section(lite: Club) -> None:
    for fan in range(4):
        create_hold(lite.db, f"tg:{fan}", lite.fixture, 5, section_id=lite.sections["A"])
    with pytest.raises(SoldOut):
        create_hold(lite.db, "tg:9", lite.fixture, 1, section_id=lite.sections["A"])


def test_sales_windows_and_members_presale(lite: Club) -> None:
    later = lite.fixtures[2]  # 30 days away: not on sale
    with pytest.raises(SaleClosed):
        create_hold(lite.db, "tg:1", later, 1)
    presale = lite.now + timedelta(days=10)  # 20 days before: members only
    with pytest.raises(SaleClosed):
        create_hold(lite.db, "tg:1", later, 1, now=presale)
    set_member(lite.db, "tg:1")
    hold = create_hold(lite.db, "tg:1", later, 1, now=presale, section_id=lite.sections["B"])
    assert hold.total == 14400 * 90 // 100  # low demand ¥144, members 10% off category 3
    with pytest.raises(SaleClosed):
        create_hold(lite.db, "tg:2", lite.fixture, 1, now=lite.now + timedelta(days=5))


def test_concessions_and_free_companion(lite: Club) -> None:
    hold = create_hold(
        lite.db,
        "tg:1",
        lite.fixture,
        2,
        section_id=lite.sections["ACC"],
        concessions=["disabled", "companion"],
    )
    assert [s.price for s in hold.seats] == [9000, 0]
    with pytest.raises(InvalidRequest):
        create_hold(lite.db, "tg:2", lite.fixture, 1, concessions=["companion"])
    with pytest.raises(InvalidRequest):
        create_hold(lite.db, "tg:2", lite.fixture, 1, concessions=["pensioner"])
    child = create_hold(lite.db, "tg:3", lite.fixture, 1, concessions=["child"])
    assert child.seats[0].price == 19000


def test_away_and_accessible_sections_only_when_asked(lite: Club) -> None:
    for fan in range(14):  # sections A (20 seats) and B (50 seats)
        hold = create_hold(lite.db, f"tg:{fan}", lite.fixture, 5)
        assert hold.seats[0].section in ("A", "B")
    with pytest.raises(SoldOut):
        create_hold(lite.db, "tg:99", lite.fixture, 1)
    away = create_hold(lite.db, "tg:99", lite.fixture, 2, category="away")
    assert away.seats[0].section == "AW"


def _race(club: Club, customer: str, buyers: int) -> tuple[int, int]:
    barrier = threading.Barrier(buyers)
    outcomes: list[object] = []

    def hold() -> None:
        barrier.wait()
        try:
            outcomes.append(create_hold(club.db, customer, club.fixture, 2))
        except PurchaseLimitReached as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=hold) for _ in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = sum(isinstance(o, PurchaseLimitReached) for o in outcomes)
    return len(outcomes) - refused, refused


def test_a_new_fans_concurrent_first_holds_make_one_fan(club: Club) -> None:
    # The first request of a fan creates them; racing first requests must all be
    # answered (the losers of the identity's primary key retry and find the fan), make
    # one fan, and still count against that fan's cap (6 seats) together.
    assert _race(club, "web:racer", 4) == (3, 1)
    with club.db() as session:
        fans = session.scalars(
            select(CustomerIdentity.customer_id).where(CustomerIdentity.external_id == "web:racer")
        ).all()
        owners = set(session.scalars(select(Hold.customer_id)).all())
    assert len(fans) == 1 and owners == {fans[0]}


def test_a_known_fans_concurrent_holds_stay_under_the_cap(club: Club) -> None:
    create_hold(club.db, "web:known", club.fixture, 2)
    assert _race(club, "web:known", 3) == (2, 1)  # 2 + 2 + 2 seats, the third refused


def _fill(club: Club, section: str, customer: str) -> None:
    """Hold every free seat of a section by seat id (no best-available, no shared count)."""
    with club.db() as session:
        seats = seat_map(session, club.fixture, club.sections[section])
    free = [s.id for s in seats if s.status == "available"]
    for start in range(0, len(free), 6):
        create_hold(club.db, f"{customer}{start}", club.fixture, seat_ids=free[start : start + 6])


def test_a_stale_shared_count_never_oversells_a_full_section(club: Club) -> None:
    create_hold(club.db, "tg:first", club.fixture, 2)  # counts section A as nearly empty
    _fill(club, "A", "tg:a")  # by seat ids: the shared count is now stale
    hold = create_hold(club.db, "tg:late", club.fixture, 2)
    assert {s.section for s in hold.seats} == {"B"}
    with club.db() as session:
        section_a = seat_map(session, club.fixture, club.sections["A"])
    assert all(s.status != "available" for s in section_a)


def test_a_stale_shared_count_does_not_hide_freed_seats(club: Club) -> None:
    first = create_hold(club.db, "tg:first", club.fixture, 2)
    _fill(club, "A", "tg:a")
    _fill(club, "B", "tg:b")
    with pytest.raises(SoldOut):
        create_hold(club.db, "tg:none", club.fixture, 2)  # shares a count: all full
    release_hold(club.db, "tg:first", first.id)
    again = create_hold(club.db, "tg:again", club.fixture, 2)  # the shared count says full
    assert sorted(s.id for s in again.seats) == sorted(s.id for s in first.seats)


def _section_a(club: Club) -> list[FreeSeat]:
    from ticketing.models import Seat

    with club.db() as session:
        rows = session.execute(
            select(Seat.id, Seat.row, Seat.row_position, Seat.number, Seat.kind, Seat.quality)
            .where(Seat.section_id == club.sections["A"])
            .order_by(Seat.id)
        ).tuples()
        return [FreeSeat(*row) for row in rows]


def _offer_blocks(monkeypatch: pytest.MonkeyPatch, blocks: list[list[FreeSeat]]) -> None:
    """Make best-available try exactly `blocks`, in this order."""
    import ticketing.holds
    from ticketing.recommendations import choose_seat_options

    def options(*args: object, **kwargs: object) -> object:
        chosen = choose_seat_options(*args, **kwargs)  # type: ignore[arg-type]
        assert chosen is not None
        return chosen[0], blocks

    monkeypatch.setattr(ticketing.holds, "choose_seat_options", options)


def test_a_block_taken_meanwhile_is_passed_over_in_the_same_transaction(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _section_a(club)
    create_hold(club.db, "tg:other", club.fixture, seat_ids=[a[2].id])  # claimed meanwhile
    resolve_customer(club.db, "tg:fan")  # a fan we know: their hold is a transaction
    # [1, 2] fails on 2 after claiming 1; [0, 1] starts below the seat it claimed
    # (locks go in seat id order), so it is skipped; [4, 5] is free.
    _offer_blocks(monkeypatch, [[a[1], a[2]], [a[0], a[1]], [a[4], a[5]]])
    hold = create_hold(club.db, "tg:fan", club.fixture, 2)
    assert [s.id for s in hold.seats] == [a[4].id, a[5].id]
    with club.db() as session:
        status = {s.id: s.status for s in seat_map(session, club.fixture, club.sections["A"])}
    assert status[a[1].id] == status[a[0].id] == "available"  # the claim given back
    assert status[a[2].id] == "held"


def test_a_new_fans_hold_takes_a_block_whole_or_not_at_all(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _section_a(club)
    create_hold(club.db, "tg:other", club.fixture, seat_ids=[a[2].id])  # claimed meanwhile
    _offer_blocks(monkeypatch, [[a[1], a[2]], [a[0], a[1]], [a[4], a[5]]])
    hold = create_hold(club.db, "tg:new", club.fixture, 2)
    if engine_of(club.db).dialect.name == "postgresql":
        # No transaction: [1, 2] claimed nothing, so no lock stands in the way of [0, 1].
        assert [s.id for s in hold.seats] == [a[0].id, a[1].id]
    else:  # one transaction, as for a known fan
        assert [s.id for s in hold.seats] == [a[4].id, a[5].id]
    with club.db() as session:
        status = {s.id: s.status for s in seat_map(session, club.fixture, club.sections["A"])}
        fans = session.scalar(select(func.count()).where(CustomerIdentity.external_id == "tg:new"))
    assert status[a[2].id] == "held" and fans == 1
    held = {s.id for s in hold.seats}
    assert all(status[s.id] == "available" for s in a[:6] if s.id not in held | {a[2].id})


def test_a_new_fan_who_finds_every_block_taken_leaves_nothing_behind(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _section_a(club)
    create_hold(club.db, "tg:other", club.fixture, seat_ids=[a[2].id, a[5].id])
    _offer_blocks(monkeypatch, [[a[1], a[2]], [a[4], a[5]]])
    with pytest.raises(SoldOut):
        create_hold(club.db, "tg:unlucky", club.fixture, 2)
    with club.db() as session:
        status = {s.id: s.status for s in seat_map(session, club.fixture, club.sections["A"])}
        fans = session.scalar(
            select(func.count()).where(CustomerIdentity.external_id == "tg:unlucky")
        )
    assert fans == 0  # not even the fan was written
    free, held = "available", "held"
    assert [status[s.id] for s in a[:6]] == [free, free, held, free, free, held]


def test_a_buyer_reaching_for_held_seats_does_not_hold_up_their_payment(
    pg_url: str, tmp_path: Path
) -> None:
    """PostgreSQL: a hold that finds its seats taken locks none of them (no lock waits)."""
    from tests.ticketing.conftest import load_club
    from ticketing.holds import _priced, fixture_and_fan, seats_of_choice
    from ticketing.paying import pay_order
    from ticketing.policies import current_policies
    from ticketing.recommendations import FreeSeat, SectionChoice
    from ticketing.store import store_for

    club = load_club(pg_url, tmp_path / "club")
    held = create_hold(club.db, "tg:first", club.fixture, 2)
    paid: list[str] = []
    with club.db() as late:  # another buyer whose view predates the hold
        fixture, _fan = fixture_and_fan(late, club.fixture, "tg:late")
        seats = [FreeSeat(s.id, s.row, 0, s.number, "standard", 0) for s in held.seats]
        choice = SectionChoice(held.seats[0].section_id, "A", 0, "", "", "cat1", "", 0, 0, 0, False)
        hold, _view = _priced(
            late,
            fixture=fixture,
            member=False,
            seats=seats_of_choice(choice, seats),
            concessions=["adult", "adult"],
            now=utcnow(),
            policies=current_policies(),
            kind="purchase",
        )
        claimed = store_for(late).claim_and_hold(late, hold, customer_id=None, new_fan="tg:late")
        assert not claimed.complete and claimed.seat_ids == []

        def pay() -> None:
            pay_order(
                club.db, "tg:first", held.id, token="tok_ok", idempotency_key="k", keys=club.keys
            )
            paid.append(held.id)

        payer = threading.Thread(target=pay)
        payer.start()
        payer.join(10)  # the late buyer's transaction is still open
        assert paid == [held.id]
        late.rollback()


def test_holds_are_counted_by_outcome_in_the_processs_metrics(lite: Club) -> None:
    before = {
        outcome: sample("matchday_holds_total", outcome=outcome)
        for outcome in ("created", "released", "sold_out", "not_found")
    }
    create_hold(lite.db, "tg:1", lite.fixture, 5, section_id=lite.sections["A"])
    mine = create_hold(lite.db, "tg:2", lite.fixture, 5, section_id=lite.sections["A"])
    release_hold(lite.db, "tg:2", mine.id)
    for fan in range(3, 6):
        create_hold(lite.db, f"tg:{fan}", lite.fixture, 5, section_id=lite.sections["A"])
    with pytest.raises(SoldOut):
        create_hold(lite.db, "tg:9", lite.fixture, 1, section_id=lite.sections["A"])
    with pytest.raises(NotFound):
        create_hold(lite.db, "tg:9", 9999, 1)
    after = {outcome: sample("matchday_holds_total", outcome=outcome) for outcome in before}
    assert {k: after[k] - before[k] for k in before} == {
        "created": 5,
        "released": 1,
        "sold_out": 1,
        "not_found": 1,
    }
