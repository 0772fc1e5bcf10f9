"""Scoped API keys: each scope opens its routes only, refused keys are counted, and
MATCHDAY_API_KEY still opens everything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Request
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from bot.api.app import create_app
from bot.api.deps import CallerDep, ReadScope, scope_required
from bot.api.keys import (
    REMEMBER_S,
    Caller,
    DuplicateKeyName,
    InvalidKeySpec,
    KeyChecker,
    KeyRefused,
    create_key,
    key_hash,
    list_keys,
    revoke_key,
)
from bot.api.models import ApiKey
from core.clock import utcnow
from core.db import read_session
from tests.conftest import TEST_API_KEY, make_settings
from tests.support.orders import buy
from tests.support.server import free_port, serving
from tests.ticketing.conftest import Club, load_club
from ticketing.models import Hold
from ticketing.risk import refusal_counts

# The scope of every server-to-server route; the agent API, the widget, the console and
# Telegram have credentials of their own (docs/security.md lists both).
ROUTE_SCOPES = {
    ("POST", "/api/v1/gate/scan"): "gate",
    ("GET", "/api/v1/gate/keys"): "gate",
    ("GET", "/api/v1/gate/revocations"): "gate",
    ("GET", "/api/v1/fixtures"): "read",
    ("GET", "/api/v1/fixtures/{fixture_id}/sections"): "read",
    ("GET", "/api/v1/fixtures/{fixture_id}/sections/{section_id}/seats"): "read",
    ("GET", "/api/v1/fixtures/{fixture_id}/recommendations"): "read",
    ("GET", "/api/v1/holds/{hold_id}"): "read",
    ("GET", "/api/v1/orders"): "read",
    ("GET", "/api/v1/orders/{order_id}"): "read",
    ("GET", "/api/v1/tickets"): "read",
    ("GET", "/api/v1/tickets/{ticket_id}"): "read",
    ("GET", "/api/v1/tickets/{ticket_id}/qr.png"): "read",
    ("GET", "/api/v1/tickets/{ticket_id}/qr.svg"): "read",
    ("POST", "/api/v1/triage"): "read",
    ("GET", "/api/v1/risk"): "read",
    ("POST", "/api/v1/holds"): "full",
    ("DELETE", "/api/v1/holds/{hold_id}"): "full",
    ("POST", "/api/v1/orders"): "full",
    ("POST", "/api/v1/orders/{order_id}/refund"): "full",
    ("POST", "/api/v1/orders/{order_id}/exchange"): "full",
    ("POST", "/api/v1/tickets/{ticket_id}/transfer/quote"): "full",
    ("POST", "/api/v1/tickets/{ticket_id}/transfer"): "full",
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): "full",
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): "full",
}
OWN_CREDENTIALS = ("/api/v1/agent", "/api/v1/widget")


@dataclass
class Desk:
    """A gateway over HTTP with a bought order and one client per key."""

    club: Club
    base: str
    keys: dict[str, str]  # name -> key, and "server" -> MATCHDAY_API_KEY
    order: dict[str, Any]

    def as_(self, name: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[name]}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)


async def _whoami(request: Request, caller: CallerDep) -> dict[str, Any]:
    assert request.state.caller is caller
    return {
        "key_id": caller.key_id,
        "name": caller.name,
        "scope": caller.scope,
        "hold_budget": caller.hold_budget,
    }


@pytest.fixture
def desk(sqlite_url: str, tmp_path: Path) -> Iterator[Desk]:
    club = load_club(sqlite_url, tmp_path / "club")
    now = utcnow()
    keys = {"server": TEST_API_KEY}
    for name, scope, budget in (("scanner", "gate", None), ("bi", "read", None)):
        keys[name] = create_key(club.db, name, scope, hold_budget=budget)[1]
    keys["shop"] = create_key(club.db, "shop", "full", hold_budget=40)[1]
    keys["revoked"] = create_key(club.db, "revoked", "full")[1]
    revoke_key(club.db, "revoked")
    keys["expired"] = create_key(
        club.db, "expired", "full", expires_at=now - timedelta(hours=1), now=now - timedelta(days=1)
    )[1]
    app = create_app(make_settings(sqlite_url))
    # A route as the lead's holds and conversations routes will use the caller.
    app.add_api_route("/api/v1/test-whoami", _whoami, dependencies=[ReadScope])
    with serving(app, free_port(), "/healthz", lifespan="on") as base:
        desk = Desk(club, base, keys, {})
        with desk.as_("server") as server:
            desk.order = buy(server, "tg:1", club.fixture, 2)
        yield desk


def _refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    message: str = error["message"]
    return message


def test_every_server_to_server_route_names_its_scope(sqlite_url: str) -> None:
    app = create_app(make_settings(sqlite_url))
    found = {}
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if not path.startswith("/api/v1/") or route.methods is None:
            continue  # WebSockets and mounts: none takes a server-to-server key
        scope = scope_required(route.dependencies)
        if path.startswith(OWN_CREDENTIALS):
            assert scope is None, path
            continue
        for method in route.methods:
            found[(method, path)] = scope
    assert {k: v for k, v in found.items() if k in ROUTE_SCOPES} == ROUTE_SCOPES
    assert None not in found.values(), [k for k, v in found.items() if v is None]


def test_a_gate_key_scans_tickets_but_reads_no_order_and_refunds_or_transfers_nothing(
    desk: Desk,
) -> None:
    order, ticket = desk.order, desk.order["tickets"][0]
    with desk.as_("scanner") as gate, desk.as_("server") as server:
        message = _refused(
            gate.get("/api/v1/orders", params={"customer": "tg:1"}), 403, "insufficient_scope"
        )
        assert "(gate)" in message and "read" in message
        refund = gate.post(f"/api/v1/orders/{order['order_id']}/refund", json={"customer": "tg:1"})
        assert "full" in _refused(refund, 403, "insufficient_scope")
        transfer = gate.post(
            f"/api/v1/tickets/{ticket['id']}/transfer",
            json={"customer": "tg:1", "to_customer": "tg:2"},
        )
        _refused(transfer, 403, "insufficient_scope")
        _refused(gate.post("/api/v1/holds", json={}), 403, "insufficient_scope")
        # Nothing was refunded or passed on.
        again = server.get(f"/api/v1/orders/{order['order_id']}", params={"customer": "tg:1"})
        assert again.json()["status"] == "paid"
        assert server.get("/api/v1/tickets", params={"customer": "tg:2"}).json() == []

        scan = gate.post("/api/v1/gate/scan", json={"code": ticket["code"], "gate": "N1"})
        assert scan.status_code == 200 and scan.json()["result"] == "ok"
        assert gate.get("/api/v1/gate/keys").status_code == 200
        assert gate.get("/api/v1/gate/revocations").status_code == 200


def test_a_read_key_reads_orders_but_cannot_hold_post_messages_or_scan(desk: Desk) -> None:
    with desk.as_("bi") as read:
        orders = read.get("/api/v1/orders", params={"customer": "tg:1"})
        assert orders.status_code == 200
        assert [o["order_id"] for o in orders.json()] == [desk.order["order_id"]]
        assert read.get("/api/v1/tickets", params={"customer": "tg:1"}).status_code == 200
        assert read.get("/api/v1/fixtures").status_code == 200

        hold = read.post(
            "/api/v1/holds",
            json={"customer": "tg:3", "fixture_id": desk.club.fixture, "quantity": 1},
        )
        assert "(read)" in _refused(hold, 403, "insufficient_scope")
        message = read.post(
            "/api/v1/conversations/c-1/messages",
            json={"text": "refund my tickets", "metadata": {"customer": "tg:1"}},
        )
        _refused(message, 403, "insufficient_scope")
        scan = read.post(
            "/api/v1/gate/scan", json={"code": desk.order["tickets"][0]["code"], "gate": "N1"}
        )
        _refused(scan, 403, "insufficient_scope")
    with read_session(desk.club.db) as session:
        assert session.scalar(select(func.count()).select_from(Hold)) == 1  # the purchase's


def test_revoked_expired_and_unknown_keys_get_401(desk: Desk) -> None:
    for name, says in (("revoked", "revoked"), ("expired", "expired")):
        with desk.as_(name) as client:
            answer = client.get("/api/v1/fixtures")
            assert says in _refused(answer, 401, "unauthorized")
            assert answer.headers["WWW-Authenticate"] == "Bearer"
    desk.keys["made-up"] = desk.keys["bi"][:-4] + "AAAA"
    with desk.as_("made-up") as client:
        _refused(client.get("/api/v1/fixtures"), 401, "unauthorized")


def test_the_server_key_and_a_full_key_do_everything(desk: Desk) -> None:
    ticket = desk.order["tickets"][0]
    for name in ("server", "shop"):
        with desk.as_(name) as client:
            customer = f"tg:{name}"
            hold = client.post(
                "/api/v1/holds",
                json={"customer": customer, "fixture_id": desk.club.fixture, "quantity": 1},
            )
            assert hold.status_code == 201, hold.text
            assert client.get("/api/v1/orders", params={"customer": "tg:1"}).status_code == 200
            refund = client.post(
                f"/api/v1/orders/{desk.order['order_id']}/refund", json={"customer": "tg:1"}
            )
            assert refund.status_code == 200 and "quote_id" in refund.json(), refund.text
            quote = client.post(
                f"/api/v1/tickets/{ticket['id']}/transfer/quote",
                json={"customer": "tg:1", "to_customer": "tg:2"},
            )
            assert quote.status_code == 200, quote.text
            history = client.get("/api/v1/conversations/nobody/messages")
            _refused(history, 404, "not_found")  # past the key: there is no such conversation
    for name, result in (("server", "ok"), ("shop", "already_used")):
        with desk.as_(name) as client:
            scan = client.post("/api/v1/gate/scan", json={"code": ticket["code"], "gate": "S1"})
            assert scan.status_code == 200 and scan.json()["result"] == result


def test_the_route_sees_who_calls(desk: Desk) -> None:
    with desk.as_("server") as server, desk.as_("shop") as shop:
        assert server.get("/api/v1/test-whoami").json() == {
            "key_id": None,
            "name": "MATCHDAY_API_KEY",
            "scope": "full",
            "hold_budget": None,
        }
        mine = shop.get("/api/v1/test-whoami").json()
    with read_session(desk.club.db) as session:
        shop_id = session.scalar(select(ApiKey.id).where(ApiKey.name == "shop"))
    assert mine == {"key_id": shop_id, "name": "shop", "scope": "full", "hold_budget": 40}


def test_refused_keys_are_counted_in_the_risk_counters(desk: Desk) -> None:
    with desk.as_("scanner") as gate, desk.as_("revoked") as revoked:
        _refused(gate.get("/api/v1/fixtures"), 403, "insufficient_scope")
        _refused(gate.get("/api/v1/fixtures"), 403, "insufficient_scope")
        _refused(revoked.get("/api/v1/fixtures"), 401, "unauthorized")
        _refused(httpx.get(f"{desk.base}/api/v1/fixtures"), 401, "unauthorized")
    with read_session(desk.club.db) as session:
        counts = refusal_counts(session)
    assert counts.get("api_scope_refused") == 2
    assert counts.get("api_key_refused") == 2


def test_last_use_is_written_at_most_once_a_minute(database_url: str, tmp_path: Path) -> None:
    club = load_club(database_url, tmp_path / "club")
    _view, key = create_key(club.db, "bi", "read")
    checker = KeyChecker(club.db, remember_s=0)  # every check reads the table
    t0 = utcnow()
    for seconds in (0, 10, 59):
        assert checker.check(key, t0 + timedelta(seconds=seconds)).name == "bi"
    with read_session(club.db) as session:
        assert list_keys(session)[0].last_used_at == t0
    checker.check(key, t0 + timedelta(seconds=61))
    with read_session(club.db) as session:
        assert list_keys(session)[0].last_used_at == t0 + timedelta(seconds=61)


def test_a_revocation_takes_effect_within_the_remembered_time(
    database_url: str, tmp_path: Path
) -> None:
    club = load_club(database_url, tmp_path / "club")
    _view, key = create_key(club.db, "scanner", "gate")
    clock = [1000.0]
    checker = KeyChecker(club.db, clock=lambda: clock[0])
    now = utcnow()
    assert checker.cached(key, now) is None  # not seen yet: read the table
    caller = checker.check(key, now)
    assert caller == Caller(caller.key_id, "scanner", "gate", None) and caller.key_id
    assert checker.cached(key, now) == caller  # from memory, no I/O
    assert revoke_key(club.db, "scanner") and not revoke_key(club.db, "scanner")
    clock[0] += REMEMBER_S
    assert checker.cached(key, now) is None
    with pytest.raises(KeyRefused, match="revoked"):
        checker.check(key, now)
    with pytest.raises(KeyRefused, match="revoked"):
        checker.cached(key, now)  # remembered as revoked: no table read for it either


def test_only_the_hash_is_stored_and_names_are_unique(database_url: str, tmp_path: Path) -> None:
    club = load_club(database_url, tmp_path / "club")
    view, key = create_key(club.db, "shop", "full", hold_budget=10)
    assert key.startswith("mdk_") and len(key) >= 40 and view.prefix == key[:12]
    with read_session(club.db) as session:
        row = session.scalars(select(ApiKey)).one()
    assert row.key_hash == key_hash(key) and key not in {str(v) for v in vars(row).values()}
    with pytest.raises(DuplicateKeyName):
        create_key(club.db, "shop", "read")
    with pytest.raises(InvalidKeySpec, match="only a full key"):
        create_key(club.db, "gate-1", "gate", hold_budget=5)
    with pytest.raises(InvalidKeySpec, match="scope"):
        create_key(club.db, "admin", "root")


def test_a_key_with_a_hold_budget_is_held_to_it_and_the_refusal_is_counted(
    desk: Desk,
) -> None:
    keys = {"budgeted": create_key(desk.club.db, "partner", "full", hold_budget=2)[1]}
    desk.keys.update(keys)
    with desk.as_("budgeted") as client:
        for n in range(2):  # a new fan each time: the per-fan cap does not stop it
            body = {"customer": f"api:partner-{n}", "fixture_id": desk.club.fixture, "quantity": 1}
            assert client.post("/api/v1/holds", json=body).status_code == 201
        body = {"customer": "api:partner-9", "fixture_id": desk.club.fixture, "quantity": 1}
        refused = client.post("/api/v1/holds", json=body)
    _refused(refused, 429, "key_budget")
    assert int(refused.headers["Retry-After"]) > 0
    with desk.as_("server") as server:  # the club's own key has no budget
        for n in range(3):
            body = {"customer": f"api:club-{n}", "fixture_id": desk.club.fixture, "quantity": 1}
            assert server.post("/api/v1/holds", json=body).status_code == 201
    with desk.as_("bi") as reader:
        risk = reader.get("/api/v1/risk", params={"minutes": 10})
    assert risk.status_code == 200, risk.text
    assert risk.json()["totals"]["key_budget"] == 1
    with desk.as_("scanner") as scanner:
        _refused(scanner.get("/api/v1/risk"), 403, "insufficient_scope")
