"""The club is data: a second club, loaded from its own folder by the normal loader,
sells a ticket with its own order prefix, names, rules and time zone."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import engine_for, make_sessionmaker, read_session, write_session
from tests.ticketing.conftest import HARBOURSIDE, Club, write_club
from ticketing.club import current_club
from ticketing.demo import load_demo_data
from ticketing.errors import ClubNotLoaded, DemoDataError
from ticketing.fixtures import fixture_listings
from ticketing.holds import create_hold
from ticketing.ids import REF_ALPHABET
from ticketing.models import ClubRecord
from ticketing.orders import get_order
from ticketing.paying import pay_order
from ticketing.policies import current_policies
from ticketing.pricing import category_names
from ticketing.verification import check_order_ref


def test_a_second_club_sells_a_ticket_under_its_own_prefix(
    second_club: sessionmaker[Session],
) -> None:
    db = second_club
    with read_session(db) as session:
        club = current_club(session)
        (first, _second) = fixture_listings(session, now=utcnow())
    assert (club.id, club.order_prefix, club.home_team_id) == (
        "harbourside",
        "HX",
        "harbourside-rovers",
    )
    assert (club.name("en"), club.name("zh")) == ("Harbourside Rovers", "港湾流浪者")
    assert (club.short_name("en"), club.short_name("zh")) == ("Harbourside", "港湾")
    assert club.time_zone == "Pacific/Auckland" and club.venue_id == "quayside-park"
    # The kick-off is the folder's local time at its own ground: Saturday 15:00 in Auckland.
    assert first.summary.timezone == club.time_zone
    local = first.summary.kickoff.astimezone(club.zone)
    assert (local.strftime("%a"), local.hour, local.minute) == ("Sat", 15, 0)

    before = utcnow()
    hold = create_hold(db, "tg:harbour-fan", first.summary.id, 2)
    assert hold.currency == "NZD" and hold.total == 2 * 2500  # terrace, the best-ranked
    # The rules in force are the folder's: seats stay held 7 minutes, not the demo's 10.
    assert current_policies().holds.minutes == 7
    assert timedelta(minutes=6) < hold.expires_at - before <= timedelta(minutes=7, seconds=5)

    order = pay_order(db, "tg:harbour-fan", hold.id, token="tok_ok", idempotency_key="hx-1").order
    assert re.fullmatch(rf"HX-[{REF_ALPHABET}]{{6}}", order.ref)
    assert order.status == "paid" and order.currency == "NZD"
    assert [t.status for t in order.tickets] == ["valid", "valid"]
    assert {t.order_ref for t in order.tickets} == {order.ref}
    # A fan typing the reference loosely is read with the club's prefix.
    typed = order.ref.lower().replace("-", "")
    assert check_order_ref(typed, club.order_prefix) == order.ref
    with read_session(db) as session:
        assert get_order(session, "tg:harbour-fan", order.ref).ref == order.ref
        names = category_names(session)
    assert names["terrace"].name("zh") == "站票区" and names["seated"].name("en") == "Grandstand"


def test_loading_again_updates_the_club_and_keeps_one(
    second_club: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "harbourside"
    shutil.copytree(HARBOURSIDE, folder)
    club_file = folder / "club.yml"
    club_file.write_text(
        club_file.read_text(encoding="utf-8").replace("港湾流浪者\n", "港湾流浪者足球俱乐部\n", 1),
        encoding="utf-8",
    )
    with write_session(second_club) as session:
        assert load_demo_data(session, club_file) is False  # the season is there already
    with read_session(second_club) as session:
        assert session.scalar(select(func.count()).select_from(ClubRecord)) == 1
        assert current_club(session).name_zh == "港湾流浪者足球俱乐部"


def test_a_database_holds_one_club(club: Club) -> None:
    with write_session(club.db) as session, pytest.raises(DemoDataError, match=r"club\.id") as err:
        load_demo_data(session, HARBOURSIDE / "club.yml")
    assert "holds the club 'test'" in err.value.message


def test_a_database_without_its_club_says_so(sqlite_url: str) -> None:
    with make_sessionmaker(engine_for(sqlite_url))() as session, pytest.raises(ClubNotLoaded):
        current_club(session)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("order_prefix: RA", "order_prefix: R-A", "club.order_prefix"),
        ("home_team: home", "home_team: nobody", "club.home_team"),
        ("timezone: Asia/Shanghai", "timezone: Mars/Olympus", "venue.timezone"),
    ],
)
def test_a_bad_club_record_names_the_file_and_field(
    sqlite_url: str, tmp_path: Path, old: str, new: str, field: str
) -> None:
    club_file = write_club(tmp_path / "club", utcnow())
    club_file.write_text(club_file.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    with (
        make_sessionmaker(engine_for(sqlite_url))() as session,
        pytest.raises(DemoDataError, match=rf"club\.yml: {re.escape(field)}") as err,
    ):
        load_demo_data(session, club_file)
    assert err.value.field == field
