import pytest
from pydantic import ValidationError

from bot.rasa.environment import tracker_store_url
from tests.conftest import make_settings


def test_database_urls_other_than_sqlite_or_postgresql_are_refused() -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        make_settings("mysql://root@localhost/db")


def test_a_bad_port_is_refused() -> None:
    with pytest.raises(ValidationError):
        make_settings("sqlite:///x.db", MATCHDAY_PORT="99999")


def test_rasa_tracker_store_follows_the_database() -> None:
    assert tracker_store_url("sqlite:////srv/desk/desk.db") == "sqlite:////srv/desk/desk-tracker.db"
    assert (
        tracker_store_url("postgresql://fan@db:5432/matchday")
        == "postgresql://fan@db:5432/matchday"
    )
    assert tracker_store_url("postgres://fan:pw@db/matchday") == "postgresql://fan:pw@db/matchday"
