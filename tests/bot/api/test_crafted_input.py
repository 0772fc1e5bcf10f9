"""Crafted input over real HTTP: refused as invalid (4xx in the error shape), never a 500.

Non-ASCII digits (`"²".isdigit()` holds, `int("²")` raises), non-ASCII signatures
(`hmac.compare_digest` raises on non-ASCII text), ids no database integer holds, and
list pages past their maximum.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from bot.api.paging import MAX_OFFSET, MAX_PAGE
from bot.api.routes.gate import MAX_REVOCATIONS
from bot.api.schemas import MAX_ID
from bot.handoff.agents import create_agent
from core.media import signed_path, ticket_qr_path
from tests.conftest import TEST_API_KEY, make_settings
from tests.support.databases import fresh_postgres_database, migrated
from tests.support.server import live_gateway
from tests.ticketing.conftest import Club, load_club

CLUB_PAGE = "https://club.example"
ORIGIN = CLUB_PAGE.encode()
PASSWORD = "correct horse battery staple"
# The module's gateway runs on its own PostgreSQL database (no `pg_url` to mark it by).
pytestmark = pytest.mark.postgres
SUPERSCRIPTS = "\u00b2\u00b3"  # isdigit(), but not int()


@dataclass
class Gateway:
    base: str
    club: Club
    api: httpx.Client
    agent: httpx.Client  # a supervisor's bearer session


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """On PostgreSQL, the stricter of the two: it refuses NUL in text and large INTEGERs."""
    folder = tmp_path_factory.mktemp("crafted")
    with fresh_postgres_database() as url, _serving(migrated(url), folder) as gateway:
        yield gateway


@contextmanager
def _serving(url: str, folder: Path) -> Iterator[Gateway]:
    club = load_club(url, folder / "club")
    create_agent(club.db, "sally", PASSWORD, "supervisor", languages=["en"])
    settings = make_settings(
        url, MATCHDAY_MEDIA_SECRET="crafted-media-secret", MATCHDAY_WIDGET_ORIGINS=CLUB_PAGE
    )
    with live_gateway(settings) as base:
        token = httpx.post(
            f"{base}/api/v1/agent/session", json={"username": "sally", "password": PASSWORD}
        ).json()["token"]
        with (
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TEST_API_KEY}"}) as api,
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as agent,
        ):
            yield Gateway(base, club, api, agent)


def _refused(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["message"], str)
    if code is not None:
        assert error["code"] == code


def test_a_qr_link_with_a_non_ascii_signature_is_refused(gateway: Gateway) -> None:
    link = signed_path("crafted-media-secret", ticket_qr_path(1, 1))
    path, _, _ = link.partition("&sig=")
    for signature in (SUPERSCRIPTS * 4, "\u00e9" * 32):
        _refused(httpx.get(f"{gateway.base}{path}&sig={quote(signature)}"), 403, "link_expired")


def test_qr_links_take_ascii_ids_and_an_expiry_within_bounds(gateway: Gateway) -> None:
    arabic_one = "\u0661"  # int() reads it as 1: another name for the same image
    name = f"{arabic_one}-v{arabic_one}.png"
    _refused(httpx.get(f"{gateway.base}/media/tickets/{name}?exp=1&sig=x"), 404, "not_found")
    too_big = "9" * 19  # more than a database integer holds
    _refused(httpx.get(f"{gateway.base}/media/tickets/{too_big}-v1.png?exp=1&sig=x"), 404)
    _refused(httpx.get(f"{gateway.base}/media/tickets/1-v1.png?exp={2**70}&sig=x"), 422)


@pytest.mark.parametrize(
    "token",
    [
        f"v1.web-xxxxxxxxxxxxxxxxxxxxxx.{SUPERSCRIPTS}.sig",
        "v1.web-xxxxxxxxxxxxxxxxxxxxxx.9999999999.\u00e9\u00e9",
    ],
)
def test_a_widget_token_with_non_ascii_digits_or_signature_is_refused(
    gateway: Gateway, token: str
) -> None:
    history = httpx.get(
        f"{gateway.base}/api/v1/widget/history",
        headers={b"Authorization": b"Bearer " + token.encode("latin-1"), b"Origin": ORIGIN},
    )
    _refused(history, 401)
    resumed = httpx.post(
        f"{gateway.base}/api/v1/widget/sessions",
        json={"token": token},
        headers={"Origin": CLUB_PAGE},
    )
    assert resumed.status_code < 500, resumed.text


def test_a_non_ascii_csrf_token_is_a_failed_check(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.base) as browser:
        signed_in = browser.post(
            "/api/v1/agent/session", json={"username": "sally", "password": PASSWORD}
        )
        assert signed_in.status_code == 200
        claim = browser.post(
            "/api/v1/agent/conversations/someone/claim",
            headers={b"X-CSRF-Token": "\u00e9\u00e9".encode("latin-1")},
        )
    _refused(claim, 403, "csrf_failed")


def test_ids_no_database_integer_holds_are_out_of_range(gateway: Gateway) -> None:
    huge = MAX_ID + 1
    _refused(gateway.api.get(f"/api/v1/conversations/x/messages?after={huge}"), 422)
    _refused(gateway.agent.post(f"/api/v1/agent/callbacks/{huge}/take"), 422)
    _refused(gateway.agent.post(f"/api/v1/agent/knowledge/{huge}/approve", json={}), 422)
    history = httpx.get(
        f"{gateway.base}/api/v1/widget/history?after={huge}",
        headers={"Authorization": "Bearer x", "Origin": CLUB_PAGE},
    )
    _refused(history, 422)
    assert gateway.api.get(f"/api/v1/conversations/x/messages?after={MAX_ID}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/holds", {"customer": "tg:1\u0000", "fixture_id": 1, "quantity": 1}),
        ("GET", "/api/v1/tickets?customer=tg:%00", None),
        ("GET", "/api/v1/orders?customer=web:a%00b", None),
        ("GET", "/api/v1/fixtures?team=home%00", None),
        (
            "POST",
            "/api/v1/tickets/1/transfer/quote",
            {"customer": "tg:1", "to_customer": "tg:\u0000"},
        ),
        (
            "POST",
            "/api/v1/agent/knowledge",
            {"question": "a\u0000b", "answer": "c", "language": "en"},
        ),
    ],
)
def test_text_with_a_nul_is_invalid_input(
    gateway: Gateway, method: str, path: str, body: dict[str, object] | None
) -> None:
    caller = gateway.agent if path.startswith("/api/v1/agent") else gateway.api
    _refused(caller.request(method, path, json=body), 422)


def test_confirming_an_exchange_for_a_fan_never_seen_is_not_found(gateway: Gateway) -> None:
    hold = gateway.api.post(
        "/api/v1/holds",
        json={"customer": "tg:7", "fixture_id": gateway.club.fixture, "quantity": 1},
    ).json()
    order = gateway.api.post(
        "/api/v1/orders",
        json={
            "customer": "tg:7",
            "hold_id": hold["hold_id"],
            "payment": {"method": "sandbox", "token": "tok_ok"},
        },
        headers={"Idempotency-Key": "crafted-exchange"},
    ).json()
    confirm = gateway.api.post(
        f"/api/v1/orders/{order['order_id']}/exchange",
        json={
            "customer": "tg:nobody",
            "fixture_id": gateway.club.fixture,
            "ticket_ids": [order["tickets"][0]["id"]],
            "quote_id": "0",
            "confirm": True,
        },
    )
    _refused(confirm, 404, "not_found")


@pytest.mark.parametrize(
    ("client", "path"),
    [
        ("api", "/api/v1/orders?customer=tg:7"),
        ("api", "/api/v1/tickets?customer=tg:7"),
        ("agent", "/api/v1/agent/queue"),
        ("agent", "/api/v1/agent/conversations"),
        ("agent", "/api/v1/agent/callbacks"),
        ("agent", "/api/v1/agent/canned"),
        ("agent", "/api/v1/agent/knowledge"),
        ("agent", "/api/v1/agent/agents"),
    ],
)
def test_every_list_has_a_maximum_page(gateway: Gateway, client: str, path: str) -> None:
    caller: httpx.Client = getattr(gateway, client)
    joiner = "&" if "?" in path else "?"
    assert caller.get(f"{path}{joiner}limit={MAX_PAGE}&offset=0").status_code == 200
    _refused(caller.get(f"{path}{joiner}limit={MAX_PAGE + 1}"), 422)
    _refused(caller.get(f"{path}{joiner}offset={MAX_OFFSET + 1}"), 422)
    _refused(caller.get(f"{path}{joiner}limit=0"), 422)


def test_pages_of_a_list_follow_one_another(gateway: Gateway) -> None:
    canned = gateway.agent.get("/api/v1/agent/canned").json()["replies"]
    assert len(canned) >= 2
    first = gateway.agent.get("/api/v1/agent/canned?limit=1").json()["replies"]
    second = gateway.agent.get("/api/v1/agent/canned?limit=1&offset=1").json()["replies"]
    assert first + second == canned[:2]


def test_the_revocation_list_comes_in_pages(gateway: Gateway) -> None:
    path = "/api/v1/gate/revocations"
    assert gateway.api.get(f"{path}?limit={MAX_REVOCATIONS}").status_code == 200
    _refused(gateway.api.get(f"{path}?limit={MAX_REVOCATIONS + 1}"), 422)
    _refused(gateway.api.get(f"{path}?offset=-1"), 422)
