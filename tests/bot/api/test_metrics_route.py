"""`GET /metrics`: Prometheus text for a `read` key, the API's errors for anyone else,
and the handoff queue's length read from the database at each scrape."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.api.keys import create_key
from bot.conversations.models import Conversation
from bot.handoff.models import Callback, Handoff
from core.db import engine_for, make_sessionmaker, write_session
from tests.conftest import TEST_API_KEY, make_settings
from tests.support.databases import migrated
from tests.support.metrics import scraped
from tests.support.server import live_gateway


@dataclass
class Gateway:
    base: str
    url: str
    keys: dict[str, str]

    def scrape(self, key: str, **headers: str) -> httpx.Response:
        return httpx.get(
            f"{self.base}/metrics", headers={"Authorization": f"Bearer {key}", **headers}
        )


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway for the module (only the queue's test writes handoffs)."""
    url = migrated(f"sqlite:///{tmp_path_factory.mktemp('metrics') / 'desk.db'}")
    db = make_sessionmaker(engine_for(url))
    keys = {scope: create_key(db, f"prometheus-{scope}", scope)[1] for scope in ("read", "gate")}
    with live_gateway(make_settings(url)) as base:
        yield Gateway(base, url, keys)


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


def test_a_read_key_gets_the_metrics_as_prometheus_text(gateway: Gateway) -> None:
    response = gateway.scrape(gateway.keys["read"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    page = response.text
    for name in (
        "matchday_messages_in",
        "matchday_stage_seconds",
        "matchday_queue_length",
        "matchday_escalations",
        "matchday_holds",
        "matchday_orders",
        "matchday_refusals",
        "matchday_websocket_sessions",
    ):
        assert f"# HELP {name}" in page, name
    assert gateway.scrape(TEST_API_KEY).status_code == 200  # full covers read


def test_without_a_read_key_the_answer_is_the_apis_error(gateway: Gateway) -> None:
    missing = httpx.get(f"{gateway.base}/metrics")
    _error(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    _error(gateway.scrape("mdk_not-a-key"), 401, "unauthorized")
    _error(gateway.scrape(gateway.keys["gate"]), 403, "insufficient_scope")


def test_refused_keys_show_among_the_refusals(gateway: Gateway) -> None:
    before = scraped(
        gateway.scrape(gateway.keys["read"]).text,
        "matchday_refusals_total",
        reason="api_key_refused",
    )
    gateway.scrape("mdk_wrong")
    httpx.get(f"{gateway.base}/metrics")
    after = scraped(
        gateway.scrape(gateway.keys["read"]).text,
        "matchday_refusals_total",
        reason="api_key_refused",
    )
    assert after == before + 2


def test_the_handoff_queue_and_open_callbacks_are_counted_at_each_scrape(
    gateway: Gateway,
) -> None:
    db = make_sessionmaker(engine_for(gateway.url))
    with write_session(db) as session:
        for n, status in enumerate(("queued", "queued", "with_agent", "closed")):
            session.add(Conversation(id=f"c-{n}", channel="api", status="queued"))
            session.flush()
            session.add(
                Handoff(conversation_id=f"c-{n}", status=status, reason="human", language="en")
            )
        session.add(Callback(conversation_id="c-3", language="zh", reason="human", text="call me"))
        session.add(
            Callback(
                conversation_id="c-3", language="en", reason="human", text="hi", status="taken"
            )
        )
    page = gateway.scrape(gateway.keys["read"]).text
    assert scraped(page, "matchday_queue_length", queue="handoff") == 2
    assert scraped(page, "matchday_queue_length", queue="callbacks") == 1
    with write_session(db) as session:
        session.query(Handoff).filter(Handoff.status == "queued").update({"status": "with_agent"})
    page = gateway.scrape(gateway.keys["read"]).text
    assert scraped(page, "matchday_queue_length", queue="handoff") == 0


def test_openmetrics_is_served_when_the_scraper_asks_for_it(gateway: Gateway) -> None:
    response = gateway.scrape(
        gateway.keys["read"], Accept="application/openmetrics-text; version=1.0.0"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
