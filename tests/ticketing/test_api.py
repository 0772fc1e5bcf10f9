"""The ticketing REST API through a real gateway over HTTP: every endpoint and its bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_API_KEY, make_settings
from tests.support.orders import buy
from tests.support.server import live_gateway
from tests.ticketing.conftest import Club, load_club


@pytest.fixture
def api(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[httpx.Client, Club]]:
    club = load_club(sqlite_url, tmp_path / "club")
    with live_gateway(make_settings(sqlite_url)) as base:
        headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            yield client, club


@pytest.fixture
def api_on_both(database_url: str, tmp_path: Path) -> Iterator[tuple[httpx.Client, Club]]:
    """The gateway over HTTP on SQLite and on PostgreSQL."""
    club = load_club(database_url, tmp_path / "club")
    with live_gateway(make_settings(database_url)) as base:
        headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            yield client, club


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


def test_fixtures_sections_seats_and_recommendations(api: tuple[httpx.Client, Club]) -> None:
    client, club = api
    fixtures = client.get("/api/v1/fixtures").json()
    first = fixtures[0]
    assert {
        "id",
        "home",
        "away",
        "kickoff",
        "status",
        "available",
        "price_from",
        "currency",
    } <= set(first)
    assert first["kickoff"].endswith("Z") and first["currency"] == "CNY"
    sections = client.get(f"/api/v1/fixtures/{club.fixture}/sections").json()
    assert {"id", "name", "category", "price", "currency", "available", "accessible"} <= set(
        sections[0]
    )
    seats = client.get(f"/api/v1/fixtures/{club.fixture}/sections/{sections[0]['id']}/seats").json()
    assert {"id", "row", "number", "status"} <= set(seats[0])
    client.post(
        "/api/v1/holds",
        json={"customer": "tg:9", "fixture_id": club.fixture, "seat_ids": [seats[0]["id"]]},
    )
    after = client.get("/api/v1/fixtures").json()[0]
    assert after["available"] == first["available"] - 1
    seats = client.get(f"/api/v1/fixtures/{club.fixture}/sections/{sections[0]['id']}/seats").json()
    assert seats[0]["status"] == "held"
    options = client.get(
        f"/api/v1/fixtures/{club.fixture}/recommendations", params={"quantity": 2}
    ).json()
    assert options and len(options[0]["seat_ids"]) == 2
    _error(client.get("/api/v1/fixtures/999/sections"), 404, "not_found")
    _error(client.get(f"/api/v1/fixtures/{club.fixture}/sections/999/seats"), 404, "not_found")
    _error(client.get("/api/v1/fixtures/0/sections"), 422, "out_of_range")
    assert httpx.get(f"{client.base_url}/api/v1/fixtures").status_code == 401


def test_hold_and_order_lifecycle(api: tuple[httpx.Client, Club]) -> None:
    client, club = api
    hold = client.post(
        "/api/v1/holds", json={"customer": "tg:1", "fixture_id": club.fixture, "quantity": 2}
    )
    assert hold.status_code == 201
    body = hold.json()
    assert {"hold_id", "seats", "expires_at", "total", "currency"} <= set(body)
    assert {"id", "section", "row", "number"} <= set(body["seats"][0])
    payload = {
        "customer": "tg:1",
        "hold_id": body["hold_id"],
        "payment": {"method": "sandbox", "token": "tok_ok"},
    }
    _error(client.post("/api/v1/orders", json=payload), 400, "idempotency_key_required")
    _error(
        client.post(
            "/api/v1/orders",
            json={**payload, "customer": "tg:2"},
            headers={"Idempotency-Key": "x0"},
        ),
        404,
        "not_found",
    )
    first = client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "k1"})
    again = client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    order = first.json()
    assert order["status"] == "paid" and order["order_id"].startswith("RA-")
    assert again.json()["order_id"] == order["order_id"]
    assert {"id", "seat", "code"} <= set(order["tickets"][0])
    other = {**payload, "payment": {"method": "sandbox", "token": "tok_decline"}}
    _error(
        client.post("/api/v1/orders", json=other, headers={"Idempotency-Key": "k1"}),
        409,
        "idempotency_conflict",
    )
    listed = client.get("/api/v1/orders", params={"customer": "tg:1"}).json()
    assert [o["order_id"] for o in listed] == [order["order_id"]]
    _error(
        client.get(f"/api/v1/orders/{order['order_id']}", params={"customer": "tg:2"}),
        404,
        "not_found",
    )
    ticket = order["tickets"][0]
    png = client.get(f"/api/v1/tickets/{ticket['id']}/qr.png", params={"customer": "tg:1"})
    svg = client.get(f"/api/v1/tickets/{ticket['id']}/qr.svg", params={"customer": "tg:1"})
    assert png.headers["content-type"] == "image/png" and svg.text.startswith("<svg")
    _error(
        client.get(f"/api/v1/tickets/{ticket['id']}", params={"customer": "tg:2"}), 404, "not_found"
    )


def test_payment_declined_and_timeout(api: tuple[httpx.Client, Club]) -> None:
    client, club = api
    for token, status, code in (
        ("tok_decline", 402, "payment_declined"),
        ("tok_timeout", 504, "payment_timeout"),
    ):
        hold = client.post(
            "/api/v1/holds", json={"customer": "tg:1", "fixture_id": club.fixture, "quantity": 1}
        ).json()
        payload = {
            "customer": "tg:1",
            "hold_id": hold["hold_id"],
            "payment": {"method": "sandbox", "token": token},
        }
        _error(
            client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": token}),
            status,
            code,
        )
    settled = client.post(
        "/api/v1/orders", json=payload, headers={"Idempotency-Key": "tok_timeout"}
    )
    assert settled.status_code == 200 and settled.json()["status"] == "paid"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"quantity": 0}, 422, "invalid_quantity"),
        ({"quantity": -3}, 422, "invalid_quantity"),
        ({"quantity": 7}, 422, "invalid_quantity"),
        ({"quantity": 10**15}, 422, "invalid_quantity"),
        ({"quantity": "2"}, 422, "invalid_type"),
        ({"quantity": 1, "fixture_id": 999}, 404, "not_found"),
        ({"quantity": 1, "customer": "nobody"}, 422, "invalid_format"),
        ({"quantity": 1, "surprise": True}, 422, "unknown_field"),
        ({"seat_ids": [999999]}, 404, "not_found"),
    ],
)
def test_bad_holds(
    api: tuple[httpx.Client, Club], body: dict[str, Any], status: int, code: str
) -> None:
    client, club = api
    payload = {"customer": "tg:1", "fixture_id": club.fixture, **body}
    _error(client.post("/api/v1/holds", json=payload), status, code)


def test_seat_taken_cap_and_rate_limit(api: tuple[httpx.Client, Club]) -> None:
    client, club = api
    first = client.post(
        "/api/v1/holds", json={"customer": "tg:1", "fixture_id": club.fixture, "quantity": 6}
    ).json()
    seat = first["seats"][0]["id"]
    _error(
        client.post(
            "/api/v1/holds",
            json={"customer": "tg:2", "fixture_id": club.fixture, "seat_ids": [seat]},
        ),
        409,
        "seat_unavailable",
    )
    _error(
        client.post(
            "/api/v1/holds", json={"customer": "tg:1", "fixture_id": club.fixture, "quantity": 1}
        ),
        409,
        "purchase_limit_reached",
    )
    for _ in range(10):
        hold = client.post(
            "/api/v1/holds",
            json={"customer": "tg:3", "fixture_id": club.fixtures[1], "quantity": 1},
        ).json()
        assert (
            client.delete(
                f"/api/v1/holds/{hold['hold_id']}", params={"customer": "tg:3"}
            ).status_code
            == 204
        )
    limited = client.post(
        "/api/v1/holds", json={"customer": "tg:3", "fixture_id": club.fixtures[1], "quantity": 1}
    )
    _error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1


def test_refund_exchange_transfer_and_gate(api: tuple[httpx.Client, Club]) -> None:
    client, club = api
    order = buy(client, "tg:1", club.fixture, 3)
    ref, tickets = order["order_id"], order["tickets"]
    quote = client.post(
        f"/api/v1/orders/{ref}/refund", json={"customer": "tg:1", "ticket_ids": [tickets[0]["id"]]}
    ).json()
    assert {"quote_id", "fee", "refund_amount", "currency", "expires_at"} <= set(quote)
    done = client.post(
        f"/api/v1/orders/{ref}/refund",
        json={"customer": "tg:1", "quote_id": quote["quote_id"], "confirm": True},
    )
    assert done.status_code == 200 and done.json()["status"] == "partially_refunded"
    _error(
        client.post(
            f"/api/v1/orders/{ref}/refund",
            json={"customer": "tg:1", "quote_id": quote["quote_id"], "confirm": True},
        ),
        409,
        "quote_expired",
    )
    _error(
        client.post(
            f"/api/v1/orders/{ref}/refund",
            json={"customer": "tg:1", "ticket_ids": [tickets[0]["id"]]},
        ),
        409,
        "already_refunded",
    )
    _error(client.post(f"/api/v1/orders/{ref}/refund", json={"customer": "tg:2"}), 404, "not_found")
    _error(
        client.post("/api/v1/orders/RA-ZZZZZZ/refund", json={"customer": "tg:1"}), 404, "not_found"
    )

    revoked = client.post(
        "/api/v1/gate/scan", json={"code": tickets[0]["code"], "gate": "A"}
    ).json()
    assert revoked["result"] == "revoked"
    scan = client.post(
        "/api/v1/gate/scan",
        json={"code": tickets[1]["code"], "gate": "A", "nonce": "n1", "fixture_id": club.fixture},
    ).json()
    repeat = client.post(
        "/api/v1/gate/scan", json={"code": tickets[1]["code"], "gate": "A", "nonce": "n1"}
    ).json()
    second = client.post("/api/v1/gate/scan", json={"code": tickets[1]["code"], "gate": "D"}).json()
    assert (scan["result"], repeat["result"], second["result"]) == ("ok", "ok", "already_used")
    assert second["gate"] == "A" and second["used_at"].endswith("Z")
    assert (
        client.post("/api/v1/gate/scan", json={"code": "forged", "gate": "A"}).json()["result"]
        == "invalid"
    )
    wrong = client.post(
        "/api/v1/gate/scan",
        json={"code": tickets[2]["code"], "gate": "A", "fixture_id": club.fixtures[1]},
    )
    assert wrong.json()["result"] == "wrong_fixture"
    _error(client.post("/api/v1/gate/scan", json={"code": 12, "gate": "A"}), 422, "invalid_type")
    _error(
        client.post(
            f"/api/v1/orders/{ref}/refund",
            json={"customer": "tg:1", "ticket_ids": [tickets[1]["id"]]},
        ),
        409,
        "ticket_used",
    )
    assert (
        client.get("/api/v1/gate/keys")
        .json()[0]["public_key_pem"]
        .startswith("-----BEGIN PUBLIC KEY")
    )
    assert client.get("/api/v1/gate/revocations").json()[0]["ticket_id"] == tickets[0]["id"]

    moved = client.post(
        f"/api/v1/tickets/{tickets[2]['id']}/transfer",
        json={"customer": "tg:1", "to_customer": "tg:7"},
    )
    assert moved.status_code == 200, moved.text
    new_ticket = moved.json()["tickets"][0]
    assert moved.json()["revoked_ticket_ids"] == [tickets[2]["id"]] and "code" not in new_ticket
    (theirs,) = client.get("/api/v1/tickets", params={"customer": "tg:7"}).json()
    assert theirs["id"] == new_ticket["id"] and theirs["code"] != tickets[2]["code"]
    _error(
        client.post(
            f"/api/v1/tickets/{tickets[2]['id']}/transfer",
            json={"customer": "tg:1", "to_customer": "tg:8"},
        ),
        409,
        "already_refunded",
    )

    second_order = buy(client, "tg:5", club.fixture, 1)
    exchange = {
        "customer": "tg:5",
        "ticket_ids": [second_order["tickets"][0]["id"]],
        "fixture_id": club.fixtures[1],
    }
    quoted = client.post(
        f"/api/v1/orders/{second_order['order_id']}/exchange", json=exchange
    ).json()
    assert {"quote_id", "fee", "amount_due", "seats"} <= set(quoted)
    swapped = client.post(
        f"/api/v1/orders/{second_order['order_id']}/exchange",
        json={**exchange, "quote_id": quoted["quote_id"], "confirm": True},
    )
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["revoked_ticket_ids"] == exchange["ticket_ids"]
    _error(
        client.post(
            f"/api/v1/orders/{second_order['order_id']}/exchange",
            json={**exchange, "confirm": True},
        ),
        422,
        "missing",
    )


def test_unpaid_order_cannot_be_refunded(api: tuple[httpx.Client, Club]) -> None:
    client, club = api
    hold = client.post(
        "/api/v1/holds", json={"customer": "tg:1", "fixture_id": club.fixture, "quantity": 1}
    ).json()
    payload = {
        "customer": "tg:1",
        "hold_id": hold["hold_id"],
        "payment": {"method": "sandbox", "token": "tok_timeout"},
    }
    timed_out = client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "u1"})
    ref = timed_out.headers["X-Order-Id"]
    _error(
        client.post(f"/api/v1/orders/{ref}/refund", json={"customer": "tg:1"}),
        409,
        "order_not_paid",
    )


def test_a_transferred_ticket_is_the_recipients_own_order_and_never_shows_to_the_seller(
    api_on_both: tuple[httpx.Client, Club],
) -> None:
    client, club = api_on_both
    order = buy(client, "tg:1", club.fixture, 2)
    ref, (kept, given) = order["order_id"], order["tickets"]
    moved = client.post(
        f"/api/v1/tickets/{given['id']}/transfer", json={"customer": "tg:1", "to_customer": "tg:7"}
    )
    assert moved.status_code == 200, moved.text
    (ticket,) = client.get("/api/v1/tickets", params={"customer": "tg:7"}).json()
    assert ticket["seat"] == given["seat"] and ticket["code"] != given["code"]
    seller_order = client.get(f"/api/v1/orders/{ref}", params={"customer": "tg:1"})
    assert {t["id"]: t["status"] for t in seller_order.json()["tickets"]} == {
        kept["id"]: "valid",
        given["id"]: "transferred",
    }
    seen_by_seller = [
        moved.text,
        seller_order.text,
        client.get("/api/v1/orders", params={"customer": "tg:1"}).text,
        client.get("/api/v1/tickets", params={"customer": "tg:1"}).text,
    ]
    assert not [text for text in seen_by_seller if ticket["code"] in text]

    (theirs,) = client.get("/api/v1/orders", params={"customer": "tg:7"}).json()
    assert theirs["order_id"] != ref and theirs["origin"] == "transfer"
    assert (theirs["status"], theirs["total"]) == ("paid", 0)
    assert theirs["tickets"] == [ticket]
    their_ref = theirs["order_id"]
    _error(client.get(f"/api/v1/orders/{their_ref}", params={"customer": "tg:1"}), 404, "not_found")
    _error(
        client.post(f"/api/v1/orders/{their_ref}/refund", json={"customer": "tg:1"}),
        404,
        "not_found",
    )

    quote = client.post(f"/api/v1/orders/{their_ref}/refund", json={"customer": "tg:7"}).json()
    assert quote["ticket_ids"] == [ticket["id"]] and quote["to_original_buyer"] is True
    done = client.post(
        f"/api/v1/orders/{their_ref}/refund",
        json={"customer": "tg:7", "quote_id": quote["quote_id"], "confirm": True},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "refunded" and done.json()["to_original_buyer"] is True
    assert client.get("/api/v1/tickets", params={"customer": "tg:7"}).json() == []
