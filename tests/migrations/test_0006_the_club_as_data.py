"""Migration 0006: a database from before the club record (its season loaded, orders
sold) gets its club at the next load of its data folder, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.database import migrate
from core.db import engine_for, write_session
from tests.support.databases import downgrade
from tests.ticketing.conftest import load_club
from tests.ticketing.helpers import buy
from ticketing.club import current_club, forget_club
from ticketing.demo import load_demo_data
from ticketing.errors import ClubNotLoaded
from ticketing.orders import get_order


def test_an_upgraded_database_gets_its_club_from_the_next_load(
    empty_url: str, tmp_path: Path
) -> None:
    migrate(empty_url)
    club = load_club(empty_url, tmp_path / "club")
    sold = buy(club, "tg:before", 1)
    downgrade(empty_url, "0005")  # the database as it was: a season, an order, no club
    with engine_for(empty_url).connect() as connection:
        assert "clubs" not in sa.inspect(connection).get_table_names()
    engine_for(empty_url).dispose()

    migrate(empty_url)

    with club.db() as session:
        forget_club(session)
        with pytest.raises(ClubNotLoaded):
            current_club(session)
    with write_session(club.db) as session:
        assert load_demo_data(session, tmp_path / "club" / "club.yml") is False
    with club.db() as session:
        record = current_club(session)
        assert (record.id, record.order_prefix, record.home_team_id) == ("test", "RA", "home")
        assert record.time_zone == "Asia/Shanghai"
        assert get_order(session, "tg:before", sold.ref).status == "paid"
    later = buy(club, "tg:after", 1)
    assert later.ref.startswith("RA-") and later.ref != sold.ref
